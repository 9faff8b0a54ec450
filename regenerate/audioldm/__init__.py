"""AudioLDM / AudioLDM 2 latent inpainting on diffusers components (FakeSound's region regeneration).

Public face: the inpainters (components + one ``inpaint`` call), the ``Regenerator`` over them, and the factory
that ``regenerate.recipes.create_regenerators`` calls.
"""

from regenerate.audioldm.audioldm1 import AudioLDMInpainter
from regenerate.audioldm.audioldm2 import AudioLDM2Inpainter
from regenerate.audioldm.inpainter import InpaintStep, LatentInpainter
from regenerate.audioldm.loading import CheckpointUnavailableError
from regenerate.audioldm.mel import LogMel, MelConfig
from regenerate.audioldm.regenerator import InpaintRegenerator, create_inpaint_regenerator

__all__ = [
    "AudioLDM2Inpainter",
    "AudioLDMInpainter",
    "CheckpointUnavailableError",
    "InpaintRegenerator",
    "InpaintStep",
    "LatentInpainter",
    "LogMel",
    "MelConfig",
    "create_inpaint_regenerator",
]
