"""0.x runner, workflow, model and runtime keys (env, load/resume, seeds) in 1.x form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segwright.config.legacy.common import bare_type
from segwright.config.legacy.notes import _TranslatorBase
from segwright.config.legacy.pipelines import is_legacy_pipeline, translate_pipeline_variable
from segwright.utils.errors import ConfigError

#: Native keys that may sit in a 0.x config (set by the command line) and are kept.
_KEPT_KEYS = (
    "work_dir",
    "load_from",
    "resume",
    "device",
    "launcher",
    "trust_checkpoint",
    "allow_partial_checkpoint",
    "log_level",
    "custom_imports",
    "default_scope",
    "experiment_name",
)


#: The arguments MMSeg 0.30's DiceLoss read (it accepted and ignored any other).
_DICE_V030_ARGS = (
    "smooth",
    "exponent",
    "reduction",
    "class_weight",
    "loss_weight",
    "ignore_index",
    "loss_name",
)


class _RuntimeMixin(_TranslatorBase):
    """Runner, workflow, model, runtime keys and top-level helper variables."""

    def _runner(self) -> tuple[bool, dict[str, Any]]:
        runner = self.src.pop("runner", None)
        total_iters = self.src.pop("total_iters", None)
        if runner is None:
            if total_iters is None:
                raise ConfigError(
                    "The 0.x config has no 'runner'. Add runner=dict(type='IterBasedRunner', "
                    "max_iters=...) or runner=dict(type='EpochBasedRunner', max_epochs=...)."
                )
            runner = dict(type="IterBasedRunner", max_iters=total_iters)
            self.note(
                f"total_iters={total_iters} -> train_cfg IterBasedTrainLoop(max_iters="
                f"{total_iters}) (MMSeg's fallback when 'runner' is missing)."
            )
        elif total_iters is not None:
            if not isinstance(runner, Mapping) or runner.get("max_iters") != total_iters:
                raise ConfigError(
                    f"Config key 'total_iters'={total_iters} disagrees with 'runner' "
                    f"{runner!r}; MMSeg asserts they match. Remove total_iters."
                )
            self.note("total_iters dropped: runner.max_iters says the same.")
        kind = bare_type(runner, "runner")
        extra = sorted(set(runner) - {"type", "max_iters", "max_epochs"})
        if extra:
            raise ConfigError(
                f"Config key 'runner' has argument(s) {extra} that segwright cannot translate; "
                "keep only type and max_iters (or max_epochs)."
            )
        max_iters, max_epochs = runner.get("max_iters"), runner.get("max_epochs")
        if max_iters is not None and max_epochs is not None:
            raise ConfigError(
                "Config key 'runner' sets both max_iters and max_epochs; MMCV refuses this too. "
                "Keep one."
            )
        if kind == "IterBasedRunner":
            if max_iters is None:
                raise ConfigError(
                    "Config key 'runner': IterBasedRunner needs max_iters=... (the number of "
                    "training iterations)."
                )
            return True, dict(type="IterBasedTrainLoop", max_iters=max_iters)
        if kind == "EpochBasedRunner":
            if max_epochs is None:
                raise ConfigError(
                    "Config key 'runner': EpochBasedRunner needs max_epochs=... (the number of "
                    "passes over the training data)."
                )
            return False, dict(type="EpochBasedTrainLoop", max_epochs=max_epochs)
        raise ConfigError(
            f"Config key 'runner.type'={runner['type']!r}: segwright translates IterBasedRunner "
            "and EpochBasedRunner. For mixed precision use optimizer_config=dict(type="
            "'Fp16OptimizerHook') with one of those."
        )

    def _workflow(self) -> tuple[int, int] | None:
        present = "workflow" in self.src
        workflow = self.src.pop("workflow", [("train", 1)])
        phases = []
        if isinstance(workflow, (list, tuple)):
            for phase in workflow:
                ok = (
                    isinstance(phase, (list, tuple))
                    and len(phase) == 2
                    and phase[0] in ("train", "val")
                    and isinstance(phase[1], int)
                    and not isinstance(phase[1], bool)
                    and phase[1] > 0
                )
                if not ok:
                    phases = None
                    break
                phases.append((phase[0], phase[1]))
        else:
            phases = None
        modes = [m for m, _ in phases] if phases else None
        if modes == ["train"]:
            if present and phases[0][1] != 1:
                self.note(f"workflow {workflow!r} dropped: training runs one train phase anyway.")
            return None
        if modes == ["train", "val"]:
            return phases[0][1], phases[1][1]
        raise ConfigError(
            f"Config key 'workflow'={workflow!r}: segwright translates [('train', n)] and "
            "[('train', n), ('val', m)] (m validation-loss iterations/epochs after every n "
            "training ones), with positive ints n and m."
        )

    def _model(self) -> dict[str, Any]:
        model = self.src.pop("model", None)
        if not isinstance(model, Mapping):
            raise ConfigError("The config has no 'model' dict. Add model=dict(type=..., ...).")
        model = dict(model)
        for name in ("train_cfg", "test_cfg"):
            if name not in self.src:
                continue
            value = self.src.pop(name)
            if value is not None and model.get(name) is not None:
                raise ConfigError(
                    f"Config key '{name}' is set at the top level and in model.{name}; MMSeg "
                    f"asserts only one is. Keep model.{name}."
                )
            if value is not None or name not in model:
                model[name] = value
            self.note(
                f"{name} (top level) -> model.{name}: in 0.x it configured the segmentor; a "
                f"top-level {name} now configures the {'train' if name == 'train_cfg' else 'test'}"
                " loop."
            )
        self._pretrained_vs_init_cfg(model)
        self._losses_v030(model)
        return model

    def _pretrained_vs_init_cfg(self, model: dict[str, Any]) -> None:
        """``model.pretrained`` beside a backbone's ``Pretrained`` ``init_cfg``: keep the init_cfg.

        A few 0.30 children (the ResNet-18 LoveDA recipes) give the backbone its own
        ``init_cfg`` under a base whose ``model.pretrained`` names the ResNet-50 weights; MMSeg
        0.30's backbone asserts on the pair. The backbone's checkpoint is the one meant (MMSeg
        1.x's versions of those configs load it through ``model.pretrained``), so it wins.
        """
        backbone = model.get("backbone")
        if model.get("pretrained") is None or not isinstance(backbone, Mapping):
            return
        init_cfg = backbone.get("init_cfg")
        if not isinstance(init_cfg, Mapping) or init_cfg.get("type") != "Pretrained":
            return
        pretrained = model.pop("pretrained")
        self.note(
            f"model.pretrained={pretrained!r} dropped: model.backbone.init_cfg loads "
            f"{init_cfg.get('checkpoint')!r} (MMSeg 0.30's backbone refused the pair: it "
            "asserted that only one is set)."
        )

    def _losses_v030(self, model: dict[str, Any]) -> None:
        """Losses whose definition changed after 0.x become their MMSeg 0.30 form (in place)."""
        for head_key in ("decode_head", "auxiliary_head"):
            heads = model.get(head_key)
            many = isinstance(heads, (list, tuple))
            new_heads = []
            for index, head in enumerate(heads if many else [heads]):
                if isinstance(head, Mapping) and head.get("loss_decode") is not None:
                    key = f"model.{head_key}{f'[{index}]' if many else ''}.loss_decode"
                    losses = head["loss_decode"]
                    several = isinstance(losses, (list, tuple))
                    new_losses = [
                        self._loss_v030(loss, f"{key}[{position}]" if several else key)
                        for position, loss in enumerate(losses if several else [losses])
                    ]
                    head = {**head, "loss_decode": new_losses if several else new_losses[0]}
                new_heads.append(head)
            if heads is not None:
                model[head_key] = new_heads if many else new_heads[0]

    def _loss_v030(self, loss: Any, key: str) -> Any:
        """One 0.x loss dict in the form that gives MMSeg 0.30's value."""
        if not isinstance(loss, Mapping) or not isinstance(loss.get("type"), str):
            return loss
        kind = bare_type(loss, "")
        if kind == "DiceLoss":
            kept = {k: v for k, v in loss.items() if k in _DICE_V030_ARGS}
            dropped = sorted(set(loss) - set(kept) - {"type"})
            self.note(
                f"{key} (DiceLoss) -> DiceLossV030: MMSeg 0.30's Dice (softmax, a dice per class "
                "averaged over the classes, smooth=1, exponent=2), not MMSeg >= 1.1's DiceLoss "
                "(sigmoid, one dice per image over all classes)."
                + (f" {dropped} dropped: MMSeg 0.30 ignored them." if dropped else "")
            )
            return {"type": "DiceLossV030", **kept}
        if (
            kind == "CrossEntropyLoss"
            and loss.get("class_weight") is not None
            and not loss.get("use_sigmoid")
            and not loss.get("use_mask")
            and "avg_by_class_weight" not in loss
        ):
            self.note(
                f"{key} (CrossEntropyLoss with class_weight) -> avg_by_class_weight=False: "
                "MMSeg 0.30 divided the class-weighted pixel losses by the number of pixels "
                "(MMSeg 1.x divides by the sum of their class weights)."
            )
            return {**loss, "avg_by_class_weight": False}
        return loss

    def _runtime(self) -> None:
        src, out = self.src, self.out
        for name in _KEPT_KEYS:
            if name in src:
                out[name] = src.pop(name)
        if isinstance(out.get("custom_imports"), Mapping):
            out["custom_imports"] = self._custom_imports(out["custom_imports"])
        resume_from = src.pop("resume_from", None)
        auto_resume = src.pop("auto_resume", None)
        if resume_from is not None:
            if out.get("load_from"):
                self.note("load_from dropped: resume_from wins, as in MMCV.")
            out["resume"], out["load_from"] = True, resume_from
            self.note(
                "resume_from -> resume=True, load_from=<checkpoint>. Training continues after "
                "the saved iteration (MMCV's IterBasedRunner repeated one iteration)."
            )
        elif auto_resume:
            if out.get("load_from"):
                raise ConfigError(
                    "auto_resume=True with load_from: 0.x resumed from the work_dir's latest "
                    "checkpoint if any, else loaded load_from. segwright's resume=True with "
                    "load_from resumes from load_from. Remove load_from or auto_resume."
                )
            out["resume"] = True
            self.note(
                "auto_resume -> resume=True: resumes from work_dir/last_checkpoint when it "
                "exists (segwright's pointer file; MMCV looked for latest.pth)."
            )
        elif auto_resume is not None:
            self.note("auto_resume=False dropped (the default).")
        env = dict(src.pop("env_cfg", None) or {})
        if "dist_params" in src:
            env["dist_cfg"] = src.pop("dist_params")
        if "cudnn_benchmark" in src:
            env["cudnn_benchmark"] = src.pop("cudnn_benchmark")
        mp = {k: src.pop(k) for k in ("mp_start_method", "opencv_num_threads") if k in src}
        if mp:
            env["mp_cfg"] = {**env.get("mp_cfg", {}), **mp}
            self.note(
                f"{', '.join(mp)} -> env_cfg.mp_cfg (as MMSeg 1.x); segwright leaves the "
                "multiprocessing start method and OpenCV threads at their defaults."
            )
        self.env_cfg.update(env)
        wrapper_cfg = dict(src.pop("model_wrapper_cfg", None) or {})
        if "find_unused_parameters" in src:
            wrapper_cfg["find_unused_parameters"] = src.pop("find_unused_parameters")
        if wrapper_cfg:
            out["model_wrapper_cfg"] = wrapper_cfg
        randomness = dict(src.pop("randomness", None) or {})
        for name in ("seed", "deterministic"):
            if name in src:
                value = src.pop(name)
                if value is not None:
                    randomness[name] = value
        if randomness:
            out["randomness"] = randomness
        if "gpu_ids" in src:
            self.note(
                f"gpu_ids={src.pop('gpu_ids')!r} dropped: one process per GPU comes from "
                "torchrun (--launcher pytorch); pick the device with --device."
            )
        for name in ("visualizer", "log_processor"):
            if name in src and name not in out:
                out[name] = src.pop(name)

    def _custom_imports(self, custom_imports: Mapping[str, Any]) -> dict[str, Any]:
        """``mmcls`` modules (MMClassification, renamed MMPretrain in 1.x) under their 1.x name."""
        imports = custom_imports.get("imports")
        names = [imports] if isinstance(imports, str) else imports
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            return dict(custom_imports)  # import_custom_modules says what is wrong
        renamed = [
            "mmpretrain" + n[len("mmcls") :] if n == "mmcls" or n.startswith("mmcls.") else n
            for n in names
        ]
        if renamed == list(names):
            return dict(custom_imports)
        self.note(
            f"custom_imports {[n for n in names if n not in renamed]} -> {renamed}: MMSeg 0.x "
            "configs imported MMClassification (mmcls) for its backbones, which MMSeg 1.x's "
            "configs import as mmpretrain (segwright provides mmpretrain.models' ConvNeXt and "
            "PoolFormer; an mmpretrain you installed is used as it is)."
        )
        return {
            **custom_imports,
            "imports": renamed if not isinstance(imports, str) else renamed[0],
        }

    def _helpers(self) -> None:
        """Top-level helper variables: 0.x pipelines in 1.x form; img_norm_cfg goes."""
        if "img_norm_cfg" in self.src:
            self.src.pop("img_norm_cfg")
            self.note("img_norm_cfg dropped: its values are in model.data_preprocessor.")
        for name in list(self.src):
            value = self.src[name]
            if name.endswith("pipeline") and is_legacy_pipeline(value):
                self.src[name] = translate_pipeline_variable(name, value)
