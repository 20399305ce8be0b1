"""The early warning, proven on the persona organism: monitored fine-tunes with a behavioural
eval alongside, calibration of the detector on healthy runs, the demo and the benchmark.

Every run here is a real ``transformers.Trainer`` fine-tune streaming checks through
``EmwatchCallback`` to a real service over loopback; the ground truth is the organism's exact
behavioural eval, sampled at regular steps of the same run.
"""
