"""MMSeg 0.x -> native translation: runner, workflow, optimizer, schedules, hooks, runtime keys."""

from __future__ import annotations

import copy

import pytest

from segwright.config import Config
from segwright.config.legacy import (
    is_legacy_config,
    translate_config,
    translate_legacy_config,
)
from segwright.utils.errors import ConfigError

MODEL = dict(type="ToySegModel", channels=4, num_classes=2)
TRAIN_SET = dict(type="ToySegDataset", num_samples=8, size=(16, 16))
VAL_SET = dict(type="ToySegDataset", num_samples=4, size=(16, 16), seed=1)


def legacy(**over):
    cfg = dict(
        model=copy.deepcopy(MODEL),
        data=dict(samples_per_gpu=2, workers_per_gpu=0, train=dict(TRAIN_SET)),
        optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0005),
        optimizer_config=dict(),
        lr_config=dict(policy="poly", power=0.9, min_lr=1e-4, by_epoch=False),
        runner=dict(type="IterBasedRunner", max_iters=80),
        checkpoint_config=dict(by_epoch=False, interval=40),
        log_config=dict(interval=10, hooks=[dict(type="TextLoggerHook", by_epoch=False)]),
    )
    for key, value in over.items():
        if value is ...:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    return cfg


def translate(**over):
    return translate_legacy_config(legacy(**over))


def noted(notes, *words):
    return any(all(w in n for w in words) for n in notes)


# -- recognising -----------------------------------------------------------------------------------


def test_is_legacy_config():
    assert is_legacy_config(legacy())
    assert is_legacy_config(Config(legacy()))
    assert is_legacy_config(dict(model=MODEL, lr_config=dict(policy="poly")))
    assert not is_legacy_config(dict(model=MODEL, optim_wrapper=dict(), train_cfg=dict()))
    assert not is_legacy_config(dict(model=MODEL, work_dir="x"))
    # A 1.x config (optim_wrapper/train_dataloader) is native even with stray 0.x keys ...
    mixed = dict(legacy(), optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)))
    assert not is_legacy_config(mixed)
    # ... and translating such a mix is refused.
    with pytest.raises(ConfigError, match="mixes MMSeg 0.x keys .* with 1.x keys"):
        translate_legacy_config(mixed)


def test_minimal_iteration_config_translates_exactly():
    out, notes = translate(seed=0, work_dir="wd")
    assert out == dict(
        model=MODEL,
        work_dir="wd",
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type="InfiniteSampler", shuffle=True),
            dataset=TRAIN_SET,
        ),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=80),
        optim_wrapper=dict(
            type="OptimWrapper",
            optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0005),
        ),
        default_hooks=dict(
            checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=40),
            logger=dict(type="LoggerHook", interval=10, log_metric_by_epoch=False),
        ),
        default_hook_priorities=dict(
            param_scheduler="VERY_HIGH", checkpoint="NORMAL", timer="LOW", logger="VERY_LOW"
        ),
        param_scheduler=[dict(type="MMCVPolyLR", by_epoch=False, power=0.9, min_lr=1e-4)],
        log_processor=dict(by_epoch=False),
        visualizer=dict(
            type="SegLocalVisualizer",
            vis_backends=[dict(type="LocalVisBackend")],
            name="visualizer",
        ),
        randomness=dict(seed=0),
    )
    assert noted(notes, "lr_config", "MMCVPolyLR")
    assert noted(notes, "latest.pth", "last_checkpoint")


def test_input_is_not_modified_and_config_keeps_its_file_name(tmp_path):
    cfg = legacy()
    before = copy.deepcopy(cfg)
    translate_legacy_config(cfg)
    assert cfg == before
    path = tmp_path / "old.py"
    path.write_text("\n".join(f"{k} = {v!r}" for k, v in cfg.items()))
    translated, notes = translate_config(Config.fromfile(path))
    assert translated.filename == str(path.resolve())
    assert "optim_wrapper" in translated and "optimizer" not in translated
    assert notes


# -- runner and workflow ---------------------------------------------------------------------------


def test_epoch_runner_defaults():
    out, _ = translate(
        runner=dict(type="EpochBasedRunner", max_epochs=3),
        lr_config=dict(policy="step", step=[2]),
        checkpoint_config=dict(interval=1),
        log_config=dict(interval=5, hooks=[dict(type="TextLoggerHook")]),
    )
    assert out["train_cfg"] == dict(type="EpochBasedTrainLoop", max_epochs=3)
    assert out["train_dataloader"]["sampler"] == dict(type="DefaultSampler", shuffle=True)
    assert out["train_dataloader"]["drop_last"] is True
    # EpochBasedRunner keeps the policies' own by_epoch default (True): the epoch sets the lr.
    assert out["param_scheduler"] == [
        dict(type="MMCVStepLR", by_epoch=False, progress="epoch", step=[2])
    ]
    assert out["default_hooks"]["checkpoint"] == dict(
        type="CheckpointHook", by_epoch=True, interval=1
    )
    assert out["default_hooks"]["logger"]["log_metric_by_epoch"] is True
    assert out["log_processor"] == dict(by_epoch=True)


def test_total_iters_is_the_fallback_runner():
    out, notes = translate(runner=..., total_iters=20)
    assert out["train_cfg"] == dict(type="IterBasedTrainLoop", max_iters=20)
    assert noted(notes, "total_iters=20")
    out, notes = translate(total_iters=80)
    assert out["train_cfg"]["max_iters"] == 80 and noted(notes, "total_iters dropped")
    with pytest.raises(ConfigError, match="total_iters'=20 disagrees"):
        translate(total_iters=20)


@pytest.mark.parametrize(
    ("runner", "message"),
    [
        (..., "has no 'runner'"),
        (dict(type="IterBasedRunner", max_iters=4, max_epochs=2), "both max_iters and max_epochs"),
        (dict(type="IterBasedRunner"), "IterBasedRunner needs max_iters"),
        (dict(type="EpochBasedRunner", max_iters=4), "EpochBasedRunner needs max_epochs"),
        (dict(type="IterBasedRunnerAmp", max_iters=4), "IterBasedRunnerAmp"),
        (dict(type="IterBasedRunner", max_iters=4, meta=1), r"\['meta'\]"),
    ],
)
def test_runner_errors(runner, message):
    with pytest.raises(ConfigError, match=message):
        translate(runner=runner)


def test_workflow_train_only_is_implicit():
    out, notes = translate(workflow=[("train", 1)])
    assert not any(h["type"] == "WorkflowValLossHook" for h in out.get("custom_hooks", []))
    assert not noted(notes, "workflow")


def test_workflow_with_val_phase_becomes_a_hook():
    val = dict(VAL_SET)
    pipelineless = legacy(workflow=[("train", 2), ("val", 3)])
    pipelineless["data"]["val"] = val
    out, notes = translate_legacy_config(pipelineless)
    assert out["custom_hooks"][-1] == dict(
        type="WorkflowValLossHook",
        dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type="InfiniteSampler", shuffle=True),
            dataset=val,
        ),
        interval=2,
        iters=3,
    )
    assert noted(notes, "WorkflowValLossHook", "_val")
    epoch = legacy(
        workflow=[("train", 1), ("val", 1)], runner=dict(type="EpochBasedRunner", max_epochs=2)
    )
    epoch["data"]["val"] = val
    hook = translate_legacy_config(epoch)[0]["custom_hooks"][-1]
    assert hook["epochs"] == 1 and "iters" not in hook
    assert hook["dataloader"]["sampler"] == dict(type="DefaultSampler", shuffle=True)


@pytest.mark.parametrize(
    "workflow",
    [
        [("val", 1)],
        [("train", 1), ("val", 1), ("train", 1)],
        [("train", 0)],
        [("test", 1)],
        "train",
    ],
)
def test_workflow_errors(workflow):
    with pytest.raises(ConfigError, match="workflow"):
        translate(workflow=workflow)


def test_workflow_val_phase_needs_data_val():
    with pytest.raises(ConfigError, match="needs both data.train and data.val"):
        translate(workflow=[("train", 1), ("val", 1)])


# -- model -----------------------------------------------------------------------------------------


def test_top_level_train_and_test_cfg_move_into_the_model():
    out, notes = translate(train_cfg=dict(), test_cfg=dict(mode="whole"))
    assert out["model"] == dict(MODEL, train_cfg=dict(), test_cfg=dict(mode="whole"))
    assert out["train_cfg"]["type"] == "IterBasedTrainLoop"
    assert noted(notes, "test_cfg (top level) -> model.test_cfg")
    model = dict(MODEL, test_cfg=dict(mode="slide"))
    with pytest.raises(ConfigError, match="top level and in model.test_cfg"):
        translate(model=model, test_cfg=dict(mode="whole"))


def test_dice_loss_becomes_mmseg_030_dice_with_a_note():
    ce = dict(type="CrossEntropyLoss", loss_name="loss_ce", loss_weight=1.0)
    dice = dict(type="DiceLoss", loss_name="loss_dice", loss_weight=3.0)
    model = dict(
        type="EncoderDecoder",
        decode_head=dict(type="FCNHead", loss_decode=[ce, dice]),
        auxiliary_head=[
            dict(type="FCNHead", loss_decode=ce),
            dict(type="FCNHead", loss_decode=dict(dice, type="mmseg.DiceLoss", use_sigmoid=0)),
        ],
    )
    out, notes = translate(model=model)
    v030 = dict(type="DiceLossV030", loss_name="loss_dice", loss_weight=3.0)
    assert out["model"]["decode_head"]["loss_decode"] == [ce, v030]
    assert out["model"]["auxiliary_head"] == [dict(type="FCNHead", loss_decode=ce)] + [
        dict(type="FCNHead", loss_decode=v030)
    ]
    assert model["decode_head"]["loss_decode"][1] == dice  # the source is not changed
    dice_notes = [n for n in notes if "(DiceLoss)" in n]
    assert [n.split(" (DiceLoss)")[0] for n in dice_notes] == [
        "model.decode_head.loss_decode[1]",
        "model.auxiliary_head[1].loss_decode",
    ]
    assert all("DiceLossV030" in n and "MMSeg 0.30" in n for n in dice_notes)
    assert "['use_sigmoid'] dropped" in dice_notes[1]
    _, notes = translate(model=dict(model, decode_head=dict(type="FCNHead", loss_decode=ce)))
    assert len([n for n in notes if "(DiceLoss)" in n]) == 1  # only the auxiliary one
    _, notes = translate()  # no heads at all
    assert not [n for n in notes if "DiceLoss" in n]


def test_missing_model_is_an_error():
    with pytest.raises(ConfigError, match="no 'model'"):
        translate(model=...)


# -- optimizer -------------------------------------------------------------------------------------


def test_optimizer_constructor_and_paramwise_cfg_move_to_the_wrapper():
    optimizer = dict(
        type="AdamW",
        lr=6e-5,
        betas=(0.9, 0.999),
        weight_decay=0.01,
        paramwise_cfg=dict(custom_keys=dict(head=dict(lr_mult=10.0))),
        constructor="DefaultOptimizerConstructor",
    )
    out, _ = translate(optimizer=optimizer)
    assert out["optim_wrapper"] == dict(
        type="OptimWrapper",
        optimizer=dict(type="AdamW", lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
        constructor="DefaultOptimWrapperConstructor",
        paramwise_cfg=dict(custom_keys=dict(head=dict(lr_mult=10.0))),
    )
    layer_decay = dict(
        type="AdamW",
        lr=1e-4,
        weight_decay=0.05,
        constructor="LearningRateDecayOptimizerConstructor",
        paramwise_cfg=dict(decay_rate=0.9, decay_type="stage_wise", num_layers=12),
    )
    wrapper = translate(optimizer=layer_decay)[0]["optim_wrapper"]
    assert wrapper["constructor"] == "LearningRateDecayOptimizerConstructor"
    assert wrapper["paramwise_cfg"] == layer_decay["paramwise_cfg"]


def test_mmcv_decay_multiplier_defaults_are_written_out():
    optimizer = dict(type="SGD", lr=0.1, weight_decay=1e-4, paramwise_cfg=dict(bias_decay_mult=0.0))
    out, notes = translate(optimizer=optimizer)
    assert out["optim_wrapper"]["paramwise_cfg"] == dict(
        bias_decay_mult=0.0, norm_decay_mult=1.0, dwconv_decay_mult=1.0
    )
    assert noted(notes, "norm_decay_mult, dwconv_decay_mult set to MMCV's default 1.0")
    assert noted(notes, "depth-wise conv's bias now takes bias_decay_mult")


def test_optimizer_errors():
    with pytest.raises(ConfigError, match="several named optimizers"):
        translate(optimizer=dict(backbone=dict(type="SGD", lr=0.1)))


@pytest.mark.parametrize(
    ("optimizer_config", "expected"),
    [
        (dict(), {}),
        (dict(grad_clip=None), {}),
        (dict(type="OptimizerHook"), {}),
        (
            dict(grad_clip=dict(max_norm=35, norm_type=2)),
            dict(clip_grad=dict(max_norm=35, norm_type=2)),
        ),
        (
            dict(type="GradientCumulativeOptimizerHook", cumulative_iters=4),
            dict(accumulative_counts=4),
        ),
        (
            dict(type="Fp16OptimizerHook", loss_scale="dynamic"),
            dict(type="AmpOptimWrapper", loss_scale="dynamic"),
        ),
        (dict(type="Fp16OptimizerHook"), dict(type="AmpOptimWrapper", loss_scale=512.0)),
        (
            dict(
                type="GradientCumulativeFp16OptimizerHook",
                cumulative_iters=2,
                loss_scale=dict(init_scale=256.0),
                grad_clip=dict(max_norm=1.0),
            ),
            dict(
                type="AmpOptimWrapper",
                clip_grad=dict(max_norm=1.0),
                accumulative_counts=2,
                loss_scale=dict(init_scale=256.0),
            ),
        ),
    ],
)
def test_optimizer_config_becomes_wrapper_options(optimizer_config, expected):
    out, _ = translate(optimizer_config=optimizer_config)
    wrapper = dict(type="OptimWrapper", optimizer=legacy()["optimizer"])
    wrapper.update(expected)
    assert out["optim_wrapper"] == wrapper


def test_fp16_notes_mention_bf16_on_cpu_and_int_loss_scale():
    _, notes = translate(optimizer_config=dict(type="Fp16OptimizerHook", loss_scale=512))
    assert noted(notes, "AmpOptimWrapper(loss_scale=512)", "bfloat16", "int loss_scale")
    _, notes = translate(
        optimizer_config=dict(type="Fp16OptimizerHook", coalesce=True, distributed=True)
    )
    assert noted(notes, "coalesce, distributed dropped")


@pytest.mark.parametrize(
    ("optimizer_config", "message"),
    [
        (None, "never calls backward"),
        (dict(type="MyOptimizerHook"), "cannot be translated"),
        (dict(grad_clip={}), "grad_clip' must be None or the arguments"),
        (dict(cumulative_iters=2), r"\['cumulative_iters'\]"),
        ("plain", "must be a dict"),
    ],
)
def test_optimizer_config_errors(optimizer_config, message):
    with pytest.raises(ConfigError, match=message):
        translate(optimizer_config=optimizer_config)


def test_missing_optimizer_config_is_a_plain_hook_with_a_note():
    out, notes = translate(optimizer_config=...)
    assert out["optim_wrapper"]["type"] == "OptimWrapper"
    assert noted(notes, "optimizer_config missing")


def test_fp16_key():
    out, notes = translate(fp16=dict(loss_scale=128.0))
    assert out["optim_wrapper"]["type"] == "AmpOptimWrapper"
    assert out["optim_wrapper"]["loss_scale"] == 128.0
    assert noted(notes, "ignored this key")
    out, notes = translate(
        fp16=dict(), optimizer_config=dict(type="Fp16OptimizerHook", loss_scale=512.0)
    )
    assert out["optim_wrapper"]["loss_scale"] == 512.0 and noted(notes, "fp16 dropped")
    out, notes = translate(
        fp16=dict(loss_scale=64.0), optimizer_config=dict(type="Fp16OptimizerHook")
    )
    assert out["optim_wrapper"]["loss_scale"] == 512.0 and noted(notes, "fp16.loss_scale dropped")
    with pytest.raises(ConfigError, match="'fp16' must be"):
        translate(fp16=dict(scale=1))


# -- schedules -------------------------------------------------------------------------------------


def test_lr_and_momentum_policies_become_mmcv_schedulers():
    out, _ = translate(
        lr_config=dict(policy="cyclic", target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4),
        momentum_config=dict(
            policy="cyclic", target_ratio=(0.85 / 0.95, 1), cyclic_times=1, step_ratio_up=0.4
        ),
    )
    assert out["param_scheduler"] == [
        dict(
            type="MMCVCyclicLR",
            by_epoch=False,
            target_ratio=(10, 1e-4),
            cyclic_times=1,
            step_ratio_up=0.4,
        ),
        # IterBasedRunner does not default momentum_config's by_epoch to False (cyclic does).
        dict(
            type="MMCVCyclicMomentum",
            by_epoch=False,
            target_ratio=(0.85 / 0.95, 1),
            cyclic_times=1,
            step_ratio_up=0.4,
        ),
    ]
    assert "custom_hooks" not in out


def test_policy_names_follow_mmcv():
    out = translate(lr_config=dict(policy="CosineAnnealing", min_lr=0.0, by_epoch=True))[0]
    # by_epoch=True under IterBasedRunner: MMCV never updates the lr (no before_train_epoch).
    assert out["param_scheduler"] == [
        dict(type="MMCVCosineAnnealingLR", by_epoch=False, progress="frozen", min_lr=0.0)
    ]
    with pytest.raises(ConfigError, match="unknown policy 'MyPolicy'.*PARAM_SCHEDULERS"):
        translate(lr_config=dict(policy="MyPolicy"))
    with pytest.raises(
        ConfigError, match="write policy='CosineAnnealing'|Write policy='CosineAnnealing'"
    ):
        translate(lr_config=dict(policy="cosineannealing", min_lr=0.0))
    with pytest.raises(ConfigError, match="has no 'policy'"):
        translate(lr_config=dict(power=0.9))
    with pytest.raises(ConfigError, match="lr_config.type"):
        translate(lr_config=dict(policy="poly", type="PolyLrUpdaterHook"))
    with pytest.raises(ConfigError, match="must be a dict"):
        translate(lr_config="poly")


def test_absent_lr_config_keeps_the_lr_constant():
    out, notes = translate(lr_config=...)
    assert "custom_hooks" not in out and noted(notes, "lr_config missing")
    out, notes = translate(lr_config=None)
    assert "custom_hooks" not in out and not noted(notes, "lr_config")


# -- checkpoints, logging, evaluation --------------------------------------------------------------


def test_checkpoint_config_options():
    out, notes = translate(
        checkpoint_config=dict(
            by_epoch=False,
            interval=4000,
            max_keep_ckpts=2,
            save_optimizer=False,
            create_symlink=False,
            meta=dict(CLASSES=("a",)),
            sync_buffer=True,
        )
    )
    assert out["default_hooks"]["checkpoint"] == dict(
        type="CheckpointHook", by_epoch=False, interval=4000, max_keep_ckpts=2, save_optimizer=False
    )
    assert not noted(notes, "latest.pth")
    assert noted(notes, "checkpoint_config.meta dropped")
    assert noted(notes, "sync_buffer dropped")
    with pytest.raises(ConfigError, match=r"\['keep'\]"):
        translate(checkpoint_config=dict(interval=1, keep=2))
    with pytest.raises(ConfigError, match="only CheckpointHook"):
        translate(checkpoint_config=dict(type="MyCheckpointHook"))


def test_no_checkpoint_config_saves_nothing():
    out, notes = translate(checkpoint_config=None)
    assert out["default_hooks"]["checkpoint"] is None
    assert noted(notes, "MMCV saved no checkpoints")


def test_log_config_hooks_become_vis_backends():
    hooks = [
        dict(type="TextLoggerHook", by_epoch=False, interval_exp_name=500),
        dict(type="TensorboardLoggerHook", log_dir="tb"),
        dict(type="WandbLoggerHook", init_kwargs=dict(project="p")),
        dict(type="MMSegWandbHook", init_kwargs=dict(project="q"), log_checkpoint=True),
        dict(type="MlflowLoggerHook", exp_name="e", tags=dict(a=1), params=dict(b=2)),
    ]
    out, notes = translate(log_config=dict(interval=50, hooks=hooks))
    assert out["default_hooks"]["logger"] == dict(
        type="LoggerHook", interval=50, log_metric_by_epoch=False, interval_exp_name=500
    )
    assert out["visualizer"]["vis_backends"] == [
        dict(type="LocalVisBackend"),
        dict(type="TensorboardVisBackend"),
        dict(type="WandbVisBackend", init_kwargs=dict(project="p")),
        dict(type="WandbVisBackend", init_kwargs=dict(project="q")),
        dict(type="MLflowVisBackend", exp_name="e", tags=dict(a=1), params=dict(b=2)),
    ]
    assert noted(notes, "log_config.hooks[1].log_dir='tb' dropped")
    assert noted(notes, "checkpoints and evaluation images are not uploaded")
    assert noted(notes, "the model is not logged to MLflow")


def test_log_config_notes_and_errors():
    out, notes = translate(
        log_config=dict(interval=10, hooks=[dict(type="TensorboardLoggerHook", interval=5)])
    )
    assert noted(notes, "interval=5 dropped")
    assert noted(notes, "no TextLoggerHook")
    _, notes = translate(
        log_config=dict(
            interval=10, hooks=[dict(type="TextLoggerHook", by_epoch=True, reset_flag=True)]
        )
    )
    assert noted(notes, "['by_epoch', 'reset_flag'] dropped")
    _, notes = translate(
        log_config=dict(interval=10, hooks=[dict(type="TextLoggerHook", by_epoch=False)])
    )
    assert not noted(notes, "log_config")
    with pytest.raises(ConfigError, match="PaviLoggerHook has no segwright equivalent"):
        translate(log_config=dict(interval=1, hooks=[dict(type="PaviLoggerHook")]))
    with pytest.raises(ConfigError, match=r"\['colour'\]"):
        translate(log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook", colour=1)]))
    with pytest.raises(ConfigError, match="log_config' must be"):
        translate(log_config=dict(interval=1, hook=[]))
    out, notes = translate(log_config=None)
    assert "logger" not in out["default_hooks"] and noted(notes, "MMCV logged nothing")


def with_val(**over):
    cfg = legacy(**over)
    cfg["data"]["val"] = dict(VAL_SET)
    return cfg


def test_evaluation_becomes_val_loop_metric_and_best_checkpoint():
    cfg = with_val(
        evaluation=dict(
            interval=8,
            start=16,
            metric=["mIoU", "mDice"],
            pre_eval=True,
            save_best="mIoU",
            rule="greater",
        )
    )
    out, notes = translate_legacy_config(cfg)
    assert out["train_cfg"] == dict(
        type="IterBasedTrainLoop", max_iters=80, val_interval=8, val_begin=16
    )
    assert out["val_cfg"] == dict(type="ValLoop")
    assert out["val_evaluator"] == dict(type="IoUMetric", iou_metrics=["mIoU", "mDice"])
    assert out["val_dataloader"] == dict(
        batch_size=1,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=False),
        dataset=VAL_SET,
    )
    assert out["default_hooks"]["checkpoint"] == dict(
        type="CheckpointHook", by_epoch=False, interval=40, save_best="mIoU", rule="greater"
    )
    assert noted(notes, "fractions", "percentages")
    assert noted(notes, "evaluation.pre_eval dropped")
    assert not noted(notes, "evaluation.start")  # 16 is a multiple of 8: same schedule


def test_evaluation_schedule_differences_are_noted():
    _, notes = translate_legacy_config(with_val(evaluation=dict(interval=30, start=10)))
    assert noted(notes, "evaluation.start=10")
    assert noted(notes, "also validates after the last iteration (80)")


def test_evaluation_defaults_and_errors():
    out, notes = translate_legacy_config(with_val())
    assert out["train_cfg"]["val_interval"] == 1
    assert noted(notes, "evaluation missing", "interval=1")
    with pytest.raises(ConfigError, match="data.val is missing"):
        translate(evaluation=dict(interval=1))
    with pytest.raises(ConfigError, match=r"\['mAP'\] unknown"):
        translate_legacy_config(with_val(evaluation=dict(metric="mAP")))
    with pytest.raises(ConfigError, match=r"\['every'\]"):
        translate_legacy_config(with_val(evaluation=dict(every=1)))


def test_save_best_without_checkpoint_config_keeps_only_the_best():
    cfg = with_val(evaluation=dict(interval=10, save_best="auto"), checkpoint_config=None)
    out, _ = translate_legacy_config(cfg)
    assert out["default_hooks"]["checkpoint"] == dict(
        type="CheckpointHook", by_epoch=False, interval=-1, save_last=False, save_best="auto"
    )


def test_test_split_gets_a_loop_and_the_evaluation_metrics():
    cfg = with_val(evaluation=dict(interval=10, metric="mDice"))
    cfg["data"]["test"] = dict(VAL_SET)
    out, _ = translate_legacy_config(cfg)
    assert out["test_cfg"] == dict(type="TestLoop")
    assert out["test_evaluator"] == dict(type="IoUMetric", iou_metrics=["mDice"])


# -- runtime keys ----------------------------------------------------------------------------------


def test_runtime_keys():
    out, notes = translate(
        dist_params=dict(backend="nccl"),
        cudnn_benchmark=True,
        mp_start_method="fork",
        opencv_num_threads=0,
        find_unused_parameters=True,
        seed=3,
        deterministic=True,
        gpu_ids=range(1),
        log_level="DEBUG",
        load_from="a.pth",
        custom_hooks=[dict(type="EmptyCacheHook", priority="LOW")],
        custom_imports=dict(imports=["x"], allow_failed_imports=False),
        norm_cfg=dict(type="SyncBN", requires_grad=True),
        device="cpu",
    )
    assert out["env_cfg"] == dict(
        dist_cfg=dict(backend="nccl"),
        cudnn_benchmark=True,
        mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    )
    assert out["model_wrapper_cfg"] == dict(find_unused_parameters=True)
    assert out["randomness"] == dict(seed=3, deterministic=True)
    assert out["log_level"] == "DEBUG" and out["load_from"] == "a.pth" and out["device"] == "cpu"
    assert out["custom_hooks"][-1] == dict(type="EmptyCacheHook", priority="LOW")
    assert out["custom_imports"] == dict(imports=["x"], allow_failed_imports=False)
    assert out["norm_cfg"] == dict(type="SyncBN", requires_grad=True)  # helper variables stay
    assert "gpu_ids" not in out and noted(notes, "gpu_ids=range(0, 1) dropped")
    assert noted(notes, "env_cfg.mp_cfg")


def test_resume_keys():
    out, notes = translate(resume_from="work/iter_8.pth", load_from="init.pth")
    assert out["resume"] is True and out["load_from"] == "work/iter_8.pth"
    assert noted(notes, "resume_from wins") and noted(notes, "repeated one iteration")
    out, notes = translate(auto_resume=True)
    assert out["resume"] is True and "load_from" not in out
    assert noted(notes, "last_checkpoint")
    with pytest.raises(ConfigError, match="Remove load_from or auto_resume"):
        translate(auto_resume=True, load_from="init.pth")
    out, notes = translate(auto_resume=False, resume_from=None)
    assert "resume" not in out and noted(notes, "auto_resume=False dropped")
