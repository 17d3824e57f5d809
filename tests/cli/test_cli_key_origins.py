"""``segwright train`` names the file and line of a misspelt config key (it fails before training)."""

from __future__ import annotations

from segwright.cli.main import main

TYPO = """\
model = dict(
    type='EncoderDecoder',
    backbone=dict(type='ResNetV1c', depth=18),
    decode_head=dict(
        type='FCNHead',
        in_channels=512,
        channels=16,
        num_clases=3,
    ),
)
"""


def test_train_names_key_file_and_line_of_a_misspelt_argument(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "typo.py").write_text(TYPO)
    code = main(["train", "typo.py", "--work-dir", str(tmp_path / "w"), "--device", "cpu"])
    assert code == 2
    err = capsys.readouterr().err
    assert (
        "config key 'model.decode_head' (set at typo.py:8) got unexpected argument(s) "
        "'num_clases'" in err
    )
    assert "did you mean 'num_classes'" in err.lower()


def test_train_names_the_cfg_options_entry_that_set_a_misspelt_key(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "typo.py").write_text(TYPO.replace("num_clases", "num_classes"))
    argv = ["train", "typo.py", "--work-dir", str(tmp_path / "w"), "--device", "cpu"]
    code = main([*argv, "--cfg-options", "model.backbone.deepth=18"])
    assert code == 2
    err = capsys.readouterr().err
    assert "(set at --cfg-options model.backbone.deepth=18) got unexpected" in err
    assert "'deepth'" in err
