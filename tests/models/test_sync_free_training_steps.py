"""Host reads (device syncs on CUDA) of whole training steps, family by family (issue 19).

``benchmarks/host_reads_by_family.py`` counts them for every family at full width; here tiny
models check the fixes of the model code: the reads that stay are the ones that need the host
by nature (PIDNet's OHEM threshold from a sort, MaskFormer's Hungarian matching in scipy and
its sampler's data-dependent index lists), and no others. Counted with ``HostReads`` over
``train_step`` 2 and 3 (step 1 sets things up), as the benchmark does.
"""

from __future__ import annotations

import collections
import copy
import inspect
from pathlib import Path
from typing import Any

import pytest
import torch

import segwright.models.heads.maskformer_head as maskformer_head
from segwright.engine.optim.wrapper import OptimWrapper
from segwright.models.losses.boundary import BoundaryLoss
from segwright.ops import multi_scale_deformable_attn
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample
from segwright.testing.host_reads import HostReads

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

_BN = dict(type="BN", requires_grad=True)
_PRE = dict(type="SegDataPreProcessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _pidnet() -> dict[str, Any]:
    weights = [0.8373, 0.918, 0.866, 1.0345]
    ohem = dict(type="OhemCrossEntropy", thres=0.9, min_kept=500, class_weight=weights)
    return dict(
        type="EncoderDecoder", data_preprocessor=_PRE,
        backbone=dict(type="PIDNet", channels=2, ppm_channels=4, num_stem_blocks=2,
                      num_branch_blocks=2, norm_cfg=_BN),
        decode_head=dict(
            type="PIDHead", in_channels=8, channels=6, num_classes=4, norm_cfg=_BN,
            align_corners=True,
            loss_decode=[
                dict(type="CrossEntropyLoss", class_weight=weights, loss_weight=0.4), ohem,
                dict(type="BoundaryLoss", loss_weight=20.0), ohem,
            ],
        ),
        train_cfg=dict(), test_cfg=dict(mode="whole"),
    )  # fmt: skip


def _mask2former() -> dict[str, Any]:
    attn = dict(embed_dims=8, num_heads=2, attn_drop=0.0, proj_drop=0.0, batch_first=True)
    ffn = dict(embed_dims=8, feedforward_channels=16, num_fcs=2, ffn_drop=0.0)
    deformable = dict(embed_dims=8, num_heads=2, num_levels=2, num_points=2, batch_first=True)
    return dict(
        type="EncoderDecoder", data_preprocessor=_PRE,
        backbone=dict(type="ResNetV1c", depth=18, stem_channels=8, base_channels=4, num_stages=3,
                      out_indices=(0, 1, 2), dilations=(1, 1, 1), strides=(1, 2, 2),
                      norm_cfg=_BN, contract_dilation=True),
        decode_head=dict(
            type="Mask2FormerHead", in_channels=[4, 8, 16], feat_channels=8, in_index=[0, 1, 2],
            num_classes=4, out_channels=8, num_queries=5, num_transformer_feat_level=2,
            pixel_decoder=dict(
                type="mmdet.MSDeformAttnPixelDecoder", num_outs=2, strides=[4, 8, 16],
                norm_cfg=dict(type="GN", num_groups=2),
                encoder=dict(num_layers=1, layer_cfg=dict(self_attn_cfg=deformable, ffn_cfg=ffn)),
                positional_encoding=dict(num_feats=4, normalize=True),
            ),
            positional_encoding=dict(num_feats=4, normalize=True),
            transformer_decoder=dict(
                return_intermediate=True, num_layers=2,
                layer_cfg=dict(self_attn_cfg=attn, cross_attn_cfg=attn, ffn_cfg=ffn),
            ),
            loss_cls=dict(type="mmdet.CrossEntropyLoss", loss_weight=2.0,
                          class_weight=[1.0, 1.0, 1.0, 1.0, 0.1]),
            loss_mask=dict(type="mmdet.CrossEntropyLoss", use_sigmoid=True, loss_weight=5.0),
            loss_dice=dict(type="mmdet.DiceLoss", use_sigmoid=True, activate=True,
                           naive_dice=True, eps=1.0, loss_weight=5.0),
            train_cfg=dict(
                num_points=64, oversample_ratio=3.0, importance_sample_ratio=0.75,
                assigner=dict(type="mmdet.HungarianAssigner", match_costs=[
                    dict(type="mmdet.ClassificationCost", weight=2.0),
                    dict(type="mmdet.CrossEntropyLossCost", weight=5.0, use_sigmoid=True),
                    dict(type="mmdet.DiceCost", weight=5.0, pred_act=True, eps=1.0),
                ]),
                sampler=dict(type="mmdet.MaskPseudoSampler"),
            ),
        ),
        train_cfg=dict(), test_cfg=dict(mode="whole"),
    )  # fmt: skip


def _batch(size: int, num_classes: int, edges: bool) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(2)
    samples = []
    for _ in range(2):
        labels = torch.randint(0, num_classes, (1, size, size), generator=gen)
        labels[:, :2] = 255  # some ignored pixels, as real annotations have
        sample = SegDataSample(gt_sem_seg=PixelData(data=labels))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size)))
        if edges:  # PIDNet's boundary target: 1 where the right neighbour differs
            edge = torch.zeros_like(labels)
            edge[..., :-1] = (labels[..., 1:] != labels[..., :-1]).long()
            sample.gt_edge_map = PixelData(data=edge)
        samples.append(sample)
    images = [torch.rand(3, size, size, generator=gen) * 255 for _ in range(2)]
    return dict(inputs=images, data_samples=samples)


def _reads_of_steps_2_and_3(model_cfg: dict, size: int, edges: bool = False) -> dict[str, int]:
    """``{'function path:line': reads}`` over train_step 2 and 3 of the built model."""
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9))
    data = _batch(size, model_cfg["decode_head"]["num_classes"], edges)
    model.train_step(copy.deepcopy(data), wrapper)
    where: collections.Counter[str] = collections.Counter()
    for _ in range(2):
        reads = HostReads(wrapper.optimizer)
        step_data = copy.deepcopy(data)
        with reads:
            model.train_step(step_data, wrapper)
        where.update(reads.where)
    return dict(where)


def _site_file(site: str) -> str:
    return Path(site.split(" ", 1)[1].rsplit(":", 1)[0]).name


def test_boundary_loss_reads_nothing_on_the_host():
    # It weighted the two sides with boolean-mask assignments (a nonzero inside each).
    pre = torch.randn(2, 1, 9, 11, requires_grad=True)
    gt = torch.randint(0, 2, (2, 9, 11))
    gt[:, 0] = 255
    reads = HostReads()
    with reads:
        BoundaryLoss(loss_weight=20.0)(pre, gt).backward()
    assert dict(reads.where) == {}


def test_deformable_attention_split_by_python_shapes_reads_nothing():
    gen = torch.Generator().manual_seed(0)
    shapes = [(4, 6), (2, 3)]
    value = torch.randn(2, 4 * 6 + 2 * 3, 2, 4, generator=gen)
    locations = torch.rand(2, 5, 2, 2, 3, 2, generator=gen)
    weights = torch.rand(2, 5, 2, 2, 3, generator=gen)
    from_tensor = multi_scale_deformable_attn(value, torch.tensor(shapes), locations, weights)
    reads = HostReads()
    with reads:
        from_ints = multi_scale_deformable_attn(value, shapes, locations, weights)
    assert dict(reads.where) == {}
    assert torch.equal(from_ints, from_tensor)
    with pytest.raises(ValueError, match=r"spatial shapes \[\[4, 6\], \[2, 2\]\] add up to 28"):
        multi_scale_deformable_attn(value, [(4, 6), (2, 2)], locations, weights)


def test_pidnet_step_reads_only_for_the_ohem_threshold():
    where = _reads_of_steps_2_and_3(_pidnet(), size=64, edges=True)
    # OhemCrossEntropy keeps the pixels under a threshold found by sorting the valid pixels'
    # probabilities: data-dependent on the host by design (its two uses per step). The
    # boundary loss used to add two boolean-mask reads per step.
    assert where and {_site_file(site) for site in where} == {"ohem_cross_entropy.py"}, where


def test_mask2former_step_reads_only_to_match_queries_to_instances():
    where = _reads_of_steps_2_and_3(_mask2former(), size=32)
    lines, first = inspect.getsourcelines(maskformer_head.semantic_instances)
    instances = range(first, first + len(lines))
    unexpected, torch_uniques = {}, 0
    for site, n in where.items():
        name, place = site.split(" ", 1)
        path, line = place.rsplit(":", 1)
        if path.endswith("hungarian_assigner.py"):  # scipy's matching, the sampler's index lists
            continue
        if path == maskformer_head.__file__ and int(line) in instances:  # classes present
            continue
        if "/torch/" in path and name == "unique":  # torch.unique names torch's file
            torch_uniques += n
            continue
        unexpected[site] = n
    # Before: unique() of the sampler's indices, constants made each layer (class weights, the mask count and its read back),
    # a boolean mask of the matched queries, the pixel decoder's shape tensors and the
    # deformable attention's tolist() of them.
    assert not unexpected, unexpected
    # The classes present in each image's labels, 2 images x 2 steps; the sampler used to add
    # a unique() of its (already ascending, distinct) nonzero() indices, two per match.
    assert torch_uniques == 4
    assert any("hungarian_assigner.py" in site for site in where)  # the counter did count
