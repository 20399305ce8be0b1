"""Probe building: misalignment directions, SAEs trained with sae-lens, persona latents.

Everything here reads models and data and writes a probe pack (``monitor.core.pack.write_pack``);
the pack is the only contract with scoring.
"""
