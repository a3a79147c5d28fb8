// Tiny TorchScript detectors and segmenters for the perception tests, written with
// torch::jit::Module::define so that nothing needs downloading. Each forward's behaviour is
// spelled out next to it; the tests compute what to expect from these comments.
#pragma once

#include <torch/script.h>

#include <string>

namespace sapnet::testing {

// Saves a module with the given TorchScript methods to `path`; returns the path.
inline std::string save_module(const std::string &path, const std::string &source) {
  torch::jit::Module m("Fixture");
  m.define(source);
  m.save(path);
  return path;
}

// torchvision-style tuple. Box 0: the middle half of the input (x 1/4..3/4 W, y 1/4..3/4 H),
// class 2, score 0.8. Box 1: (0, 0)-(8, 8) in input pixels, class 1, score = mean of the red
// input channel (after normalisation).
constexpr const char *kTupleDetector = R"(
def forward(self, x):
    h = float(x.size(2))
    w = float(x.size(3))
    red = float(x[0, 0].mean())
    boxes = torch.tensor([[0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h], [0.0, 0.0, 8.0, 8.0]])
    labels = torch.tensor([2, 1])
    scores = torch.tensor([0.8, red])
    return boxes, labels, scores
)";

// Scripted torchvision's form: forward(List[Tensor]) -> (losses, [dict]). One box (1, 2)-(11, 22)
// of class 5 with score 0.7 when the image is dark (mean < 0.5), class 6 with score 0.9 when it is
// bright. The dict has the boxes of the 3 x H x W image it got.
constexpr const char *kListDictDetector = R"(
def forward(self, images: List[Tensor]):
    x = images[0]
    label = 5
    score = 0.7
    if float(x.mean()) >= 0.5:
        label = 6
        score = 0.9
    d = {"boxes": torch.tensor([[1.0, 2.0, 11.0, 22.0]]), "labels": torch.tensor([label]),
         "scores": torch.tensor([score])}
    losses: Dict[str, Tensor] = {}
    return losses, [d]
)";

// YOLO-style 1 x 5 x (5 + 2), input pixels: rows (cx, cy, w, h, objectness, class 0, class 1).
//  A: box (20,20)-(40,40), class 0, score 0.81
//  B: box (22,21)-(42,41), class 0, score 0.72: IoU with A 342 / 458 = 0.747
//  C: same box as B, class 1, score 0.81
//  D: box (75,75)-(85,85), class 0, score 0.25
//  E: box (65,15)-(75,25), class 0, score 0.54
constexpr const char *kYoloDetector = R"(
def forward(self, x):
    return torch.tensor([[[30.0, 30.0, 20.0, 20.0, 0.9, 0.9, 0.1],
                          [32.0, 31.0, 20.0, 20.0, 0.8, 0.9, 0.1],
                          [32.0, 31.0, 20.0, 20.0, 0.9, 0.1, 0.9],
                          [80.0, 80.0, 10.0, 10.0, 0.5, 0.5, 0.2],
                          [70.0, 20.0, 10.0, 10.0, 0.9, 0.6, 0.0]]])
)";

// Logits 1 x 3 x 4 x 4 whatever the input: class 0 on the left half, 1 top-right, 2
// bottom-right.
constexpr const char *kSegmenterBody = R"(
    out = torch.zeros([1, 3, 4, 4])
    out[0, 0, :, 0:2] = 1.0
    out[0, 1, 0:2, 2:4] = 2.0
    out[0, 2, 2:4, 2:4] = 3.0
)";
inline std::string segmenter_source(bool dict) {
  return std::string("def forward(self, x):") + kSegmenterBody +
         (dict ? "    return {\"out\": out, \"aux\": out}\n" : "    return out\n");
}
// The class at (x, y) of the map that segmenter_source's logits give at frame size w x h.
inline int segmenter_class(int x, int y, int w, int h) {
  const int sx = x * 4 / w, sy = y * 4 / h;
  return sx < 2 ? 0 : sy < 2 ? 1 : 2;
}

// Wrong shapes: torchvision boxes 2 x 5; YOLO 1 x 3 x 4; segmentation 3 x 4 x 4.
constexpr const char *kBadBoxesDetector = R"(
def forward(self, x):
    return torch.zeros([2, 5]), torch.zeros([2]), torch.zeros([2])
)";
constexpr const char *kBadYoloDetector = R"(
def forward(self, x):
    return torch.zeros([1, 3, 4])
)";
constexpr const char *kBadSegmenter = R"(
def forward(self, x):
    return torch.zeros([3, 4, 4])
)";

}  // namespace sapnet::testing
