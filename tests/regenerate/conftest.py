"""Tiny AudioLDM / AudioLDM 2 inpainters shared by this folder's tests (built once per module)."""

from __future__ import annotations

import pytest
import tiny_models

from regenerate.audioldm import AudioLDM2Inpainter, AudioLDMInpainter


@pytest.fixture(scope="module")
def ldm1(tmp_path_factory):
    return AudioLDMInpainter(**tiny_models.audioldm_components(tmp_path_factory.mktemp("ldm1")))


@pytest.fixture(scope="module")
def ldm2(tmp_path_factory):
    return AudioLDM2Inpainter(**tiny_models.audioldm2_components(tmp_path_factory.mktemp("ldm2")))
