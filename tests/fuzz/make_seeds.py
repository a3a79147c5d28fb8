#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (tests/fuzz/corpus/<target>/): tiny files made here, byte by
byte, in the formats the readers take. Standard library only; rerun after changing it."""
import json
import pathlib
import struct
import zipfile
import zlib

OUT = pathlib.Path(__file__).resolve().parent / "corpus"


def s(text):  # BINUNICODE
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def i(v):  # BININT
    return b"J" + struct.pack("<i", v)


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def ints(values):
    return b"(" + b"".join(i(v) for v in values) + b"t"


def state_dict(tensors, parameter=False):
    """tensors: [(key, storage key, numel, offset, sizes, strides)] -> data.pkl of an OrderedDict."""
    p = b"\x80\x02" + glob("collections", "OrderedDict") + b")R"
    for memo, (key, storage, numel, offset, sizes, strides) in enumerate(tensors):
        t = glob("torch._utils", "_rebuild_tensor_v2") + b"("
        t += b"(" + s("storage") + glob("torch", "FloatStorage") + s(storage) + s("cpu") + i(numel)
        t += b"tQ" + i(offset) + ints(sizes) + ints(strides) + b"\x89"
        t += glob("collections", "OrderedDict") + b")RtR"
        if parameter:
            t = glob("torch._utils", "_rebuild_parameter") + b"(" + t + b"\x88" + \
                glob("collections", "OrderedDict") + b")RtR"
        p += s(key) + t + b"q" + bytes([memo]) + b"s"
    return p + b"."


def torch_zip(path, records):
    """A zip as torch.save lays it out: <name>/data.pkl, <name>/data/<key>, <name>/version."""
    name = path.stem
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        # A fixed date: the seeds stay byte-identical when regenerated.
        for record, data in list(records.items()) + [("version", b"3\n")]:
            z.writestr(zipfile.ZipInfo(f"{name}/{record}", date_time=(2024, 1, 1, 0, 0, 0)), data)


def floats(values):
    return struct.pack(f"<{len(values)}f", *values)


def png_gray(width, height, pixels):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + bytes(pixels[y * width:(y + 1) * width]) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def main():
    for d in ["fuzz_pickle", "fuzz_model_file", "fuzz_coco", "fuzz_labels"]:
        (OUT / d).mkdir(parents=True, exist_ok=True)

    # The unpickler: storages data/0 (16 floats), data/1 (one) exist in the target.
    sd = state_dict([("conv0.0.weight", "0", 16, 0, [2, 2, 2, 2], [8, 4, 2, 1]),
                     ("conv0.0.bias", "1", 1, 0, [1], [1])])
    (OUT / "fuzz_pickle/state_dict.pkl").write_bytes(sd)
    (OUT / "fuzz_pickle/parameters_views.pkl").write_bytes(state_dict(
        [("a", "0", 16, 4, [3, 2], [1, 3]), ("b", "0", 16, 0, [], [])], parameter=True))
    (OUT / "fuzz_pickle/nested_memo.pkl").write_bytes(
        b"\x80\x02}q\x00(X\x01\x00\x00\x00k]q\x01(K\x01M\x02\x01J\x03\x00\x00\x00"
        b"\x8a\x02\xff\x7fG?\xf0\x00\x00\x00\x00\x00\x00\x88\x89Nh\x01eu.")
    (OUT / "fuzz_pickle/protocol4.pkl").write_bytes(
        b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94)\x93\x85s.")

    # Whole model files.
    conv0 = [0.01 * k for k in range(2 * 6 * 3 * 3)]
    weights = state_dict([("module.conv0.0.weight", "0", len(conv0), 0, [2, 6, 3, 3], [54, 9, 3, 1]),
                          ("module.res_conv1.0.weight", "1", 1, 0, [1], [1]),
                          ("module.res_conv1.1.conv_du.0.weight", "2", 1, 0, [1, 2, 1, 1], [2, 1, 1, 1])])
    torch_zip(OUT / "fuzz_model_file/released.pth",
              {"data.pkl": weights, "data/0": floats(conv0), "data/1": floats([0.5]),
               "data/2": floats([0.25])})
    header = {"format": "sapnet-checkpoint", "version": 1,
              "network": {"stages": 1, "channels": 2, "dilations": [1], "cra": False,
                          "cra_reduction": 1},
              "metadata": {"source": "seed"},
              "tensors": [{"group": "weights", "name": "conv.0.bias", "dtype": "float32",
                           "shape": [3], "record": "tensors/0"},
                          {"group": "optimizer", "name": "step", "dtype": "int64", "shape": [],
                           "record": "tensors/1"}]}
    torch_zip(OUT / "fuzz_model_file/checkpoint.sapnet",
              {"sapnet.json": json.dumps(header).encode(), "tensors/0": floats([1, 2, 3]),
               "tensors/1": struct.pack("<q", 7)})
    torch_zip(OUT / "fuzz_model_file/torchscript.pt",
              {"data.pkl": b"\x80\x02c__torch__\nM\nq\x00)\x81}b.", "constants.pkl": b"\x80\x02).",
               "code/__torch__/m.py": b"class M(Module):\n  pass\n"})
    (OUT / "fuzz_model_file/legacy.pth").write_bytes(
        b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.")

    # COCO: annotations, a NUL, detections.
    gt = {"images": [{"id": 1}, {"id": 2}],
          "categories": [{"id": 1, "name": "car"}, {"id": 3}],
          "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100},
                          {"image_id": 1, "category_id": 3, "bbox": [5, 5, 40, 60], "area": 2400,
                           "iscrowd": 1},
                          {"image_id": 2, "category_id": 1, "bbox": [1.5, 2, 200, 100],
                           "area": 15000, "iscrowd": False}]}
    dets = [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 9, 9], "score": 0.9},
            {"image_id": 1, "category_id": 3, "bbox": [5, 5, 40, 50], "score": 0.5},
            {"image_id": 2, "category_id": 1, "bbox": [0, 0, 190, 100], "score": 0.7}]
    (OUT / "fuzz_coco/gt_and_detections.json").write_bytes(
        json.dumps(gt).encode() + b"\0" + json.dumps(dets).encode())
    (OUT / "fuzz_coco/gt_only.json").write_bytes(json.dumps(gt, indent=1).encode())
    (OUT / "fuzz_coco/wrong_types.json").write_bytes(
        b'{"images": [{"id": 1.5}], "categories": {}, "annotations": null}\0[{"bbox": [1, 2]}]')

    # Labels: a label PNG (ids 0..18 and the ignore id 255) and a class-name file.
    (OUT / "fuzz_labels/labels.png").write_bytes(
        png_gray(5, 4, [0, 1, 2, 3, 255, 18, 17, 16, 0, 0, 1, 1, 255, 255, 4, 5, 6, 7, 8, 9]))
    (OUT / "fuzz_labels/classes.txt").write_bytes(b"road\r\nsidewalk \n\nbuilding\n\n")
    (OUT / "fuzz_labels/category_ids.txt").write_bytes(b"1\n2\r\n3 \n90\n")
    (OUT / "fuzz_labels/categories.json").write_bytes(json.dumps(
        {"categories": [{"id": 3, "name": "car"}, {"id": 1, "name": "person"}, {"id": 2}]}).encode())


if __name__ == "__main__":
    main()
