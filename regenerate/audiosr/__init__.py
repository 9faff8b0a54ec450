"""Our AudioSR inference (versatile audio super-resolution to 48 kHz) loading the official checkpoints.

Public face: :class:`AudioSRUpsampler` and :func:`convert_official_state_dict`.
"""

from regenerate.audiosr.config import AUDIOSR_CONFIG, HUB_IDS, audiosr_config, tiny_audiosr_config
from regenerate.audiosr.convert import IGNORE_RULES, convert_official_state_dict
from regenerate.audiosr.loading import AudioSRLoadError
from regenerate.audiosr.model import AudioSRModel
from regenerate.audiosr.upsampler import AudioSRUpsampler

__all__ = [
    "AUDIOSR_CONFIG",
    "HUB_IDS",
    "IGNORE_RULES",
    "AudioSRLoadError",
    "AudioSRModel",
    "AudioSRUpsampler",
    "audiosr_config",
    "convert_official_state_dict",
    "tiny_audiosr_config",
]
