"""``posetools export-onnx``: ONNX files of the mm zoo's models for the ``onnx`` backend."""

from __future__ import annotations

import click

from .common import PosetoolsError, fail


@click.command("export-onnx")
@click.argument("model")
@click.option("--checkpoint", help="A local .pth file, or 'random-init' (seeded random "
                                   "weights: tests, benchmarks). Default: the zoo's release.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False),
              help="Destination .onnx file.")
@click.option("--kind", type=click.Choice(["detector", "expert"]),
              help="Needed only when MODEL is a config path.")
@click.option("--nms/--no-nms", default=True, show_default=True,
              help="RTMDet: NMS in the graph (dets, labels) or raw outputs decoded in numpy.")
@click.option("--opset", default=17, show_default=True, type=click.IntRange(11, 20))
@click.option("--flip-test/--no-flip-test", default=None,
              help="Top-down pose models: override the config's test_cfg.flip_test "
                   "(on in every zoo config; off halves the cost).")
@click.option("--score-thr", type=click.FloatRange(0.0, 1.0),
              help="Graphs with NMS: candidate score threshold (default: the config's).")
@click.option("--max-det", type=click.IntRange(1), help="Graphs with NMS: rows per image.")
@click.option("--no-verify", is_flag=True, help="Skip onnx.checker and the ONNX Runtime check.")
def export_onnx_cmd(model, checkpoint, output, kind, nms, opset, flip_test, score_thr, max_det,
                    no_verify):
    """Export MODEL to an ONNX file that the `onnx` backend runs without OpenMMLab.

    MODEL is a zoo name (rtmdet-nano/-tiny/-m, rtmpose-*, rtmw-*, hrnet-*, rtmo-*) or an
    mmdet / mmpose config path (then give --kind). The file carries its input size,
    mean/std, channel order, flip test, decoding settings and the sha256 of the source
    weights, so the pipeline YAML names only the file.
    """
    try:
        from ..experts.onnx_export import export_onnx

        rep = export_onnx(model, output, checkpoint, kind=kind, nms=nms, opset=opset,
                          flip_test=flip_test, score_thr=score_thr, max_det=max_det,
                          verify=not no_verify)
    except PosetoolsError as e:
        fail(e)
    m = rep.metadata
    w, h = m["input_size"]
    click.echo(f"wrote {rep.path}: {m['model']} ({rep.family}), opset {rep.opset}, outputs "
               f"{', '.join(rep.outputs)}, input {w}x{h} {m['channel_order']}, weights "
               f"{m['weights_sha256'][:16]}")
    if rep.max_abs_diff is not None:
        worst = ", ".join(f"{k} {v:.2e}" for k, v in rep.max_abs_diff.items())
        click.echo(f"onnx.checker ok; ONNX Runtime vs torch max |diff|: {worst}")


__all__ = ["export_onnx_cmd"]
