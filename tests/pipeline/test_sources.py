import shutil

import pytest

from pipeline.errors import ConfigError
from pipeline.manifest import ClipRecord, read_manifest, write_manifest
from pipeline.sources import import_sources, read_captions


def _captions(path, rows):
    path.write_text("audiocap_id,youtube_id,start_time,caption\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_import_matches_audiocaps_layouts_and_rejects_the_rest(tmp_path, kit_dir):
    audio = tmp_path / "audio"
    audio.mkdir()
    shutil.copy(kit_dir / "bg_rain.flac", audio / "abc123.flac")  # <youtube_id>
    shutil.copy(kit_dir / "bg_river.flac", audio / "Ydef_456.flac")  # Y<youtube_id>, id with underscore
    shutil.copy(kit_dir / "bg_stream.flac", audio / "ghi789_30.flac")  # <youtube_id>_<start>
    shutil.copy(kit_dir / "bg_harbour.flac", audio / "nocaption.flac")
    (audio / "broken.wav").write_bytes(b"not audio at all")
    (audio / "notes.txt").write_text("ignored")
    csv = _captions(
        tmp_path / "captions.csv",
        ["2,abc123,0,rain falls on a roof", "1,abc123,0,heavy rain", "3,def_456,10,a river flows",
         "4,ghi789,30,a stream babbles", "5,broken,0,something"],
    )
    result = import_sources(audio, csv, tmp_path)
    ids = [r.id for r in result.records]
    assert ids == ["abc123", "def_456", "ghi789"]
    first = result.records[0]
    assert first.caption == "heavy rain" and first.extra["captions"] == ["heavy rain", "rain falls on a roof"]
    assert first.sample_rate == 32000 and first.duration == pytest.approx(10.0) and len(first.sha256) == 64
    assert first.audio_path == "audio/abc123.flac"
    reasons = {r.item.split("/")[-1]: r.reason for r in result.rejected}
    assert reasons["nocaption.flac"].startswith("no caption")
    assert "cannot read audio header" in reasons["broken.wav"]
    write_manifest(tmp_path / "sources.jsonl", result.records)
    assert read_manifest(tmp_path / "sources.jsonl") == result.records


def test_captions_csv_missing_columns(tmp_path):
    bad = tmp_path / "c.csv"
    bad.write_text("id,caption\n1,x\n")
    with pytest.raises(ConfigError, match="lacks columns"):
        read_captions(bad)


def test_manifest_record_validation_and_errors_name_line(tmp_path):
    with pytest.raises(ValueError, match="label must be 1"):
        ClipRecord(id="x", label=2, audio_path="x.wav")
    path = tmp_path / "m.jsonl"
    path.write_text(
        '{"id": "a", "label": 0, "audio_path": "a.wav"}\n{"id": "b", "label": 0, "audio_path": "b.wav", "bogus": 1}\n'
    )
    with pytest.raises(ValueError, match=r"m\.jsonl:2"):
        read_manifest(path)


def _two_clip_folder(tmp_path, kit_dir):
    audio = tmp_path / "audio"
    audio.mkdir()
    shutil.copy(kit_dir / "bg_rain.flac", audio / "abc123.flac")
    shutil.copy(kit_dir / "bg_river.flac", audio / "def456.flac")
    (audio / "broken.wav").write_bytes(b"not audio at all")
    return audio


def test_a_folder_import_writes_licences_saying_they_are_unknown(tmp_path, kit_dir):
    from pipeline.requests import ImportRequest
    from pipeline.sources import import_job

    audio = _two_clip_folder(tmp_path, kit_dir)
    csv = _captions(tmp_path / "captions.csv", ["1,abc123,0,rain", "2,def456,0,a river", "3,broken,0,x"])
    import_job(ImportRequest(audio=str(audio), captions=str(csv), out=str(tmp_path / "sources")))
    text = (tmp_path / "sources" / "LICENSES.md").read_text()
    assert "from the folder `audio` with the captions CSV `captions.csv` (2 clips)" in text
    assert "licence of each clip is **unknown**" in text and "your responsibility" in text
    assert "| abc123 | abc123.flac | unknown |" in text and "| def456 | def456.flac | unknown |" in text
    assert "broken" not in text  # a rejected file is not in the corpus, nor in its licences


def test_a_licence_column_is_reported_per_clip_and_counted(tmp_path, kit_dir):
    from pipeline.requests import ImportRequest
    from pipeline.sources import import_job

    audio = _two_clip_folder(tmp_path, kit_dir)
    csv = tmp_path / "captions.csv"
    csv.write_text("\ufeffaudiocap_id,youtube_id,start_time,caption,License\r\n1,abc123,0,rain,CC BY 4.0\r\n"
                   "2,abc123,0,more rain,\r\n3,def456,0,a river,\r\n")
    import_job(ImportRequest(audio=str(audio), captions=str(csv), out=str(tmp_path / "sources")))
    text = (tmp_path / "sources" / "LICENSES.md").read_text()
    assert "| CC BY 4.0 | 1 |" in text and "| unknown | 1 |" in text
    assert "| abc123 | abc123.flac | CC BY 4.0 |" in text and "| def456 | def456.flac | unknown |" in text
    assert "1 clip(s) have no stated licence: it is your responsibility" in text
    # a build from these sources carries the file, so the corpus can be pushed with its terms
    from flows.cli import main

    out = tmp_path / "corpus"
    assert main(["build", "--sources", str(tmp_path / "sources" / "manifest.jsonl"), "--out", str(out),
                 "--quiet"]) == 0
    assert (out / "LICENSES.md").read_text() == text
