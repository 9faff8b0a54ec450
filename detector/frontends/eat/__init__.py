"""EAT (Efficient Audio Transformer) front-end: own implementation loading the official checkpoints."""

from detector.frontends.eat.fbank import KaldiFbankConfig, kaldi_fbank, num_fbank_frames
from detector.frontends.eat.frontend import DEFAULT_EAT_ID, EATFrontend, EATInputConfig
from detector.frontends.eat.hub import WeightsUnavailableError
from detector.frontends.eat.keymap import load_official_state, map_state_dict, to_native_key
from detector.frontends.eat.model import EATConfig, EATEncoder

__all__ = [
    "DEFAULT_EAT_ID",
    "EATConfig",
    "EATEncoder",
    "EATFrontend",
    "EATInputConfig",
    "KaldiFbankConfig",
    "WeightsUnavailableError",
    "kaldi_fbank",
    "load_official_state",
    "map_state_dict",
    "num_fbank_frames",
    "to_native_key",
]
