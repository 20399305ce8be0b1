"""Screening training data before a fine-tune: which samples sit closest to the persona.

The same geometry that a training check watches can be read off the *base* model before a
single step: each sample's answer tokens are pooled and scored on every feature of a probe
pack (direction projections, watched latents, cosines to the directions), in the pack's units,
and the samples are ranked, reported and optionally filtered out. ``screen_dataset`` is the
Python API; ``emwatch screen`` the command (``monitor/cli/screen.py``).

Modules: ``chat_data`` (reading chat JSONL), ``sample_scores`` (the model over every sample,
pooled and scored as a check), ``units`` (reference and units), ``selection`` (screen score,
thresholds, what to drop), ``result``, ``report``, ``histogram`` and ``filtered`` (the files),
``screen`` (the whole screen in order).
"""

from monitor.screening.chat_data import ChatSample, read_chat_jsonl
from monitor.screening.errors import DataFormatError, ScreenError
from monitor.screening.result import ScreenResult
from monitor.screening.screen import PACK_THRESHOLD, screen_dataset

__all__ = [
    "PACK_THRESHOLD",
    "ChatSample",
    "DataFormatError",
    "ScreenError",
    "ScreenResult",
    "read_chat_jsonl",
    "screen_dataset",
]
