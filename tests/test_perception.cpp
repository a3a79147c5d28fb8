// sapnet::Detector and sapnet::Segmenter on tiny TorchScript modules (perception_fixtures.h):
// output styles, box mapping, thresholds, NMS, normalisation, class maps, and errors for missing
// files and wrong output shapes. Also the torch-free overlay drawing and label files.
#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "error.h"
#include "expect_error.h"
#include "perception/detector.h"
#include "perception/label_files.h"
#include "perception/overlay.h"
#include "perception/segmenter.h"
#include "perception_fixtures.h"
#include "shared_data.h"

namespace sapnet {
namespace {

using testing::TempDir;

// An RGB frame of one colour.
struct Frame {
  std::vector<uint8_t> pixels;
  FrameView view;
  Frame(int w, int h, uint8_t v = 0) : pixels(size_t(w) * h * 3, v) {
    view = FrameView::packed(PixelFormat::kRGB, pixels.data(), w, h);
  }
};

DetectorOptions detector_options(const std::string &path, DetectorOutput output) {
  DetectorOptions o;
  o.model_path = path;
  o.output = output;
  return o;
}

// The message of the sapnet::Error that f throws ("" and a failure when none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  ADD_FAILURE() << "no sapnet::Error thrown";
  return "";
}

TEST(Perception, TorchvisionTupleBoxesMapToTheFrame) {
  TempDir dir;
  auto o = detector_options(testing::save_module(dir / "d.pt", testing::kTupleDetector),
                            DetectorOutput::kTorchvision);
  o.input_width = 64;
  o.input_height = 32;
  o.score_threshold = 0.5f;
  Detector det(o);
  Frame f(128, 96, 50);  // dark: box 1 scores 50/255 < 0.5
  const auto dets = det.detect(f.view);
  ASSERT_EQ(dets.size(), 1u);
  // The middle half of the input is the middle half of the frame.
  EXPECT_FLOAT_EQ(dets[0].x, 32);
  EXPECT_FLOAT_EQ(dets[0].y, 24);
  EXPECT_FLOAT_EQ(dets[0].w, 64);
  EXPECT_FLOAT_EQ(dets[0].h, 48);
  EXPECT_EQ(dets[0].class_id, 2);
  EXPECT_FLOAT_EQ(dets[0].score, 0.8f);

  // Box 1 is (0,0)-(8,8) in a 64 x 32 input: (0,0)-(16,24) in the frame; bright frames keep it.
  Frame bright(128, 96, 230);
  const auto both = det.detect(bright.view);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].class_id, 1);  // best first: 230/255 = 0.9 > 0.8
  EXPECT_FLOAT_EQ(both[0].w, 16);
  EXPECT_FLOAT_EQ(both[0].h, 24);
}

TEST(Perception, NormalisationReachesTheNetwork) {
  TempDir dir;
  auto o = detector_options(testing::save_module(dir / "d.pt", testing::kTupleDetector),
                            DetectorOutput::kTorchvision);
  o.score_threshold = 0;
  o.mean = {0.25f, 0, 0};
  o.std = {0.5f, 1, 1};
  Detector det(o);
  Frame f(40, 30, 128);
  const auto dets = det.detect(f.view);
  ASSERT_EQ(dets.size(), 2u);
  // Box 1 (class 1) scores the normalised red mean; box 0 (0.8) comes first.
  EXPECT_EQ(dets[1].class_id, 1);
  EXPECT_NEAR(dets[1].score, (128 / 255.0 - 0.25) / 0.5, 1e-5);
}

TEST(Perception, ScriptedTorchvisionListOfDictsAndBrightness) {
  TempDir dir;
  Detector det(detector_options(testing::save_module(dir / "d.pt", testing::kListDictDetector),
                                DetectorOutput::kTorchvision));
  Frame dark(30, 30, 20), bright(30, 30, 240);
  auto dets = det.detect(dark.view);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].class_id, 5);
  EXPECT_FLOAT_EQ(dets[0].score, 0.7f);
  EXPECT_FLOAT_EQ(dets[0].x, 1);
  EXPECT_FLOAT_EQ(dets[0].y, 2);
  EXPECT_FLOAT_EQ(dets[0].w, 10);
  EXPECT_FLOAT_EQ(dets[0].h, 20);
  dets = det.detect(bright.view);
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_EQ(dets[0].class_id, 6);
}

TEST(Perception, YoloThresholdAndClassWiseNms) {
  TempDir dir;
  const std::string path = testing::save_module(dir / "y.pt", testing::kYoloDetector);
  auto o = detector_options(path, DetectorOutput::kYolo);
  o.score_threshold = 0.3f;
  o.nms_threshold = 0.5f;
  Frame f(100, 100);
  auto dets = Detector(o).detect(f.view);
  // A and C (0.81, stable order), E (0.54); B suppressed by A; D under the threshold.
  ASSERT_EQ(dets.size(), 3u);
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_FLOAT_EQ(dets[0].x, 20);
  EXPECT_FLOAT_EQ(dets[0].y, 20);
  EXPECT_FLOAT_EQ(dets[0].w, 20);
  EXPECT_NEAR(dets[0].score, 0.81, 1e-6);
  EXPECT_EQ(dets[1].class_id, 1);
  EXPECT_FLOAT_EQ(dets[1].x, 22);
  EXPECT_NEAR(dets[2].score, 0.54, 1e-6);
  EXPECT_FLOAT_EQ(dets[2].x, 65);

  o.nms_threshold = 0.8f;  // B overlaps A by 0.747: kept now
  EXPECT_EQ(Detector(o).detect(f.view).size(), 4u);
  o.score_threshold = 0.2f;  // D too
  EXPECT_EQ(Detector(o).detect(f.view).size(), 5u);
  o.score_threshold = 0.6f;
  o.nms_threshold = 0.5f;
  EXPECT_EQ(Detector(o).detect(f.view).size(), 2u);  // A, C

  // Input pixels scale to the frame: a 100 x 100 input on a 200 x 50 frame.
  o.input_width = o.input_height = 100;
  Frame wide(200, 50);
  dets = Detector(o).detect(wide.view);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_FLOAT_EQ(dets[0].x, 40);
  EXPECT_FLOAT_EQ(dets[0].y, 10);
  EXPECT_FLOAT_EQ(dets[0].w, 40);
  EXPECT_FLOAT_EQ(dets[0].h, 10);
}

// YOLO rows that see the input: row 0, the middle half of the input, class 0, objectness = the
// red value of the input's top-left pixel (the letterbox border when there is one); row 1, the
// whole input, class 1, objectness = the red value at the input's centre.
constexpr const char *kPixelYolo = R"(
def forward(self, x):
    h = float(x.size(2))
    w = float(x.size(3))
    corner = float(x[0, 0, 0, 0])
    centre = float(x[0, 0, x.size(2) // 2, x.size(3) // 2])
    return (torch.tensor([[[0.5 * w, 0.5 * h, 0.5 * w, 0.5 * h, corner, 1.0, 0.0],
                           [0.5 * w, 0.5 * h, w, h, centre, 0.0, 1.0]]]), )
)";

TEST(Perception, LetterboxPadsCentresAndMapsBoxesBack) {
  TempDir dir;
  auto o = detector_options(testing::save_module(dir / "p.pt", kPixelYolo), DetectorOutput::kYolo);
  o.input_width = o.input_height = 64;
  o.score_threshold = 0.01f;
  o.nms_threshold = 1;
  o.resize = ResizeMode::kLetterbox;
  // 128 x 64 -> scale 0.5, 64 x 32 in the middle: 16 rows of border above and below.
  Frame wide(128, 64, 200);
  auto dets = Detector(o).detect(wide.view);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 1);  // the centre: the frame, 200/255
  EXPECT_NEAR(dets[0].score, 200 / 255.0, 1e-6);
  EXPECT_FLOAT_EQ(dets[0].x, 0);  // the whole input is the frame and border: clipped
  EXPECT_FLOAT_EQ(dets[0].y, 0);
  EXPECT_FLOAT_EQ(dets[0].w, 128);
  EXPECT_FLOAT_EQ(dets[0].h, 64);
  EXPECT_EQ(dets[1].class_id, 0);  // the corner: the border, 114/255
  EXPECT_NEAR(dets[1].score, 114 / 255.0, 1e-6);
  // Input (16,16)-(48,48): x / 0.5, (y - 16) / 0.5.
  EXPECT_FLOAT_EQ(dets[1].x, 32);
  EXPECT_FLOAT_EQ(dets[1].y, 0);
  EXPECT_FLOAT_EQ(dets[1].w, 64);
  EXPECT_FLOAT_EQ(dets[1].h, 64);

  // The pad value (before normalisation) is what the border holds.
  o.pad_value = 0.5f;
  o.mean = {0.25f, 0, 0};
  dets = Detector(o).detect(wide.view);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_NEAR(dets[1].score, 0.25, 1e-6);
  o.pad_value = 0.25f;  // normalised to 0: the corner box falls under the threshold
  EXPECT_EQ(Detector(o).detect(wide.view).size(), 1u);
  o.mean = {0, 0, 0};

  // An odd border: 100 x 61 -> scale 0.64, 64 x 39 (round(39.04)), 12 rows above, 13 below.
  Frame odd(100, 61, 200);
  o.pad_value = 114.f / 255;
  dets = Detector(o).detect(odd.view);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_NEAR(dets[1].x, 16 / 0.64, 1e-4);
  EXPECT_NEAR(dets[1].y, (16 - 12) / 0.64, 1e-4);
  EXPECT_NEAR(dets[1].w, 32 / 0.64, 1e-4);
  EXPECT_NEAR(dets[1].h, 32 / 0.64, 1e-4);

  // A frame of the input's size is not resized or padded: no border, the corner is the frame.
  Frame same(64, 64, 200);
  dets = Detector(o).detect(same.view);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_NEAR(dets[1].score, 200 / 255.0, 1e-6);

  // Stretched, there is no border either: both rows see the frame (equal scores: row 0 first).
  o.resize = ResizeMode::kStretch;
  dets = Detector(o).detect(wide.view);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].class_id, 0);
  EXPECT_NEAR(dets[0].score, 200 / 255.0, 1e-6);
  EXPECT_FLOAT_EQ(dets[0].x, 32);
  EXPECT_FLOAT_EQ(dets[0].y, 16);
  EXPECT_FLOAT_EQ(dets[0].h, 32);

  o.pad_value = 2;
  EXPECT_NE(error_of([&] { Detector d(o); }).find("pad value"), std::string::npos);
}

TEST(Perception, YoloMultiLabelAndMaxDetections) {
  TempDir dir;
  auto o = detector_options(testing::save_module(dir / "y.pt", testing::kYoloDetector),
                            DetectorOutput::kYolo);
  o.score_threshold = 0.05f;
  o.nms_threshold = 0.5f;
  Frame f(100, 100);
  // Best class only: A (class 0, .81), C (class 1, .81), E (.54), D (.25); B suppressed by A.
  auto dets = Detector(o).detect(f.view);
  ASSERT_EQ(dets.size(), 4u);
  // Every class above .05: also D's class 1 (.5 x .2 = .10); A's class 1 (.09) and B's (.08)
  // are suppressed by C's, C's class 0 (.09) by A's.
  o.multi_label = true;
  dets = Detector(o).detect(f.view);
  ASSERT_EQ(dets.size(), 5u);
  EXPECT_EQ(dets[4].class_id, 1);
  EXPECT_NEAR(dets[4].score, 0.10, 1e-6);
  EXPECT_FLOAT_EQ(dets[4].x, 75);
  // Above .3 only best classes score: A, C and E (D's .25 is under).
  o.score_threshold = 0.3f;
  EXPECT_EQ(Detector(o).detect(f.view).size(), 3u);
  o.score_threshold = 0.05f;
  o.max_detections = 2;  // the best two
  dets = Detector(o).detect(f.view);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_NEAR(dets[0].score, 0.81, 1e-6);
  EXPECT_NEAR(dets[1].score, 0.81, 1e-6);
  o.max_detections = -1;
  EXPECT_FALSE(error_of([&] { Detector d(o); }).empty());
}

TEST(Perception, NmsAndIou) {
  Detection a{0, 0, 10, 10, 0, 0.9f}, b{5, 0, 10, 10, 0, 0.8f}, c{5, 0, 10, 10, 1, 0.7f};
  EXPECT_NEAR(box_iou(a, b), 50.0 / 150.0, 1e-6);
  EXPECT_EQ(box_iou(a, Detection{20, 20, 5, 5, 0, 1}), 0);
  EXPECT_EQ(non_maximum_suppression({b, a, c}, 0.3f).size(), 2u);  // b goes, c is another class
  EXPECT_EQ(non_maximum_suppression({b, a, c}, 0.4f).size(), 3u);
  EXPECT_EQ(non_maximum_suppression({b, a, c}, 0.3f)[0].score, 0.9f);
}

TEST(Perception, SegmenterArgmaxAtFrameSize) {
  TempDir dir;
  for (bool dict : {false, true}) {
    PerceptionInput o;
    o.model_path = testing::save_module(dir / "s.pt", testing::segmenter_source(dict));
    o.input_width = 16;
    o.input_height = 16;
    Segmenter seg(o);
    Frame f(10, 7, 100);
    const ClassMap map = seg.segment(f.view);
    ASSERT_EQ(map.width, 10);
    ASSERT_EQ(map.height, 7);
    EXPECT_EQ(map.num_classes, 3);
    for (int y = 0; y < 7; ++y)
      for (int x = 0; x < 10; ++x)
        ASSERT_EQ(map.ids[y * 10 + x], testing::segmenter_class(x, y, 10, 7))
            << "dict " << dict << " at " << x << "," << y;
  }
}

// Logits 1 x 4 x 1 x 4: class c wins in column c.
constexpr const char *kColumnSegmenter = R"(
def forward(self, x):
    out = torch.zeros([1, 4, 1, 4])
    for c in range(4):
        out[0, c, 0, c] = 1.0
    return out
)";

TEST(Perception, SegmenterLetterboxMapsOnlyTheFramesPart) {
  TempDir dir;
  PerceptionInput o;
  o.model_path = testing::save_module(dir / "c.pt", kColumnSegmenter);
  o.input_width = o.input_height = 64;
  Frame tall(64, 128, 90);  // letterboxed: 32 x 64 in the middle, columns 16..47 of 64
  const ClassMap stretched = Segmenter(o).segment(tall.view);
  o.resize = ResizeMode::kLetterbox;
  const ClassMap boxed = Segmenter(o).segment(tall.view);
  ASSERT_EQ(boxed.width, 64);
  ASSERT_EQ(boxed.height, 128);
  for (int y : {0, 127})
    for (int x = 0; x < 64; ++x) {
      EXPECT_EQ(stretched.ids[y * 64 + x], x / 16) << x;  // all four columns
      EXPECT_EQ(boxed.ids[y * 64 + x], 1 + x / 32) << x;  // the inner two
    }
}

TEST(Perception, MissingAndInvalidModelsNameTheFile_n) {
  TempDir dir;
  const std::string missing = dir / "missing.pt";
  EXPECT_NE(
      error_of([&] { Detector d(detector_options(missing, DetectorOutput::kYolo)); }).find(missing),
      std::string::npos);
  const std::string junk = dir / "junk.pt";
  std::ofstream(junk) << "not a model";
  PerceptionInput o;
  o.model_path = junk;
  const std::string msg = error_of([&] { Segmenter s(o); });
  EXPECT_NE(msg.find(junk), std::string::npos) << msg;
  EXPECT_NE(msg.find("TorchScript"), std::string::npos) << msg;
  o.model_path = "";
  EXPECT_FALSE(error_of([&] { Segmenter s(o); }).empty());
}

TEST(Perception, WrongOutputShapesSayExpectedAndGot_n) {
  TempDir dir;
  Frame f(20, 20);
  {
    Detector d(detector_options(testing::save_module(dir / "a.pt", testing::kBadBoxesDetector),
                                DetectorOutput::kTorchvision));
    const std::string msg = error_of([&] { d.detect(f.view); });
    EXPECT_NE(msg.find("expected"), std::string::npos) << msg;
    EXPECT_NE(msg.find("N x 4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2 x 5]"), std::string::npos) << msg;
  }
  {
    Detector d(detector_options(testing::save_module(dir / "b.pt", testing::kBadYoloDetector),
                                DetectorOutput::kYolo));
    const std::string msg = error_of([&] { d.detect(f.view); });
    EXPECT_NE(msg.find("(5 + classes)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[1 x 3 x 4]"), std::string::npos) << msg;
  }
  {
    // A YOLO tensor given to the torchvision decoder is a type error.
    Detector d(detector_options(testing::save_module(dir / "c.pt", testing::kYoloDetector),
                                DetectorOutput::kTorchvision));
    const std::string msg = error_of([&] { d.detect(f.view); });
    EXPECT_NE(msg.find("got a tensor [1 x 5 x 7]"), std::string::npos) << msg;
  }
  {
    PerceptionInput o;
    o.model_path = testing::save_module(dir / "s.pt", testing::kBadSegmenter);
    Segmenter s(o);
    const std::string msg = error_of([&] { s.segment(f.view); });
    EXPECT_NE(msg.find("1 x C x H x W"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3 x 4 x 4]"), std::string::npos) << msg;
  }
}

TEST(Overlay, BoxTouchesOnlyItsOutlineAndTab) {
  for (PixelFormat fmt : {PixelFormat::kRGB, PixelFormat::kBGRx}) {
    const int w = 20, h = 16, bpp = bytes_per_pixel(fmt);
    std::vector<uint8_t> px(size_t(w) * h * bpp, 7);
    const FrameView v = FrameView::packed(fmt, px.data(), w, h);
    draw_box(v, 4, 3, 10, 8, {255, 0, 0}, 2, 4);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const uint8_t *p = &px[(size_t(y) * w + x) * bpp];
        const bool inside = x >= 4 && x < 14 && y >= 3 && y < 11;
        const bool outline = inside && (x < 6 || x >= 12 || y < 5 || y >= 9);
        const bool tab = x >= 4 && x < 8 && y >= 3 && y < 7;
        const int red = fmt == PixelFormat::kRGB ? p[0] : p[2];
        EXPECT_EQ(red, outline || tab ? 255 : 7) << x << "," << y;
        if (bpp == 4) {
          EXPECT_EQ(p[3], 7);  // padding untouched
        }
      }
  }
}

TEST(Overlay, BlendMixesClassColours) {
  const int w = 4, h = 2;
  std::vector<uint8_t> px(size_t(w) * h * 3, 100);
  std::vector<uint8_t> ids = {0, 1, 2, 3, 3, 2, 1, 0};
  blend_class_map(FrameView::packed(PixelFormat::kRGB, px.data(), w, h), ids.data(), 0.5f);
  for (int i = 0; i < w * h; ++i) {
    const Rgb c = class_colour(ids[i]);
    for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(px[i * 3 + ch], (100 + c[ch]) / 2.0, 1.0);
  }
  EXPECT_NE(class_colour(1), class_colour(2));
}

// The one class-name reader (sapnetdetect's labels-file, sapnet eval-segment --class-names): line
// N names class N, trailing spaces and CRs go, empty lines inside stay (numbering never shifts),
// empty lines at the end go.
TEST(LabelFiles, ClassNamesOnePerLine) {
  TempDir dir;
  std::ofstream(dir / "plain.txt") << "sky\nroad\ncar";
  EXPECT_EQ(read_class_names(dir / "plain.txt"), (std::vector<std::string>{"sky", "road", "car"}));
  std::ofstream(dir / "dos.txt") << "sky  \r\nroad\r\n\r\nbig car \r\n\n\n";
  EXPECT_EQ(read_class_names(dir / "dos.txt"),
            (std::vector<std::string>{"sky", "road", "", "big car"}));
  std::ofstream(dir / "empty.txt") << "\n\n";
  EXPECT_TRUE(read_class_names(dir / "empty.txt").empty());
  const std::string msg = testing::error_of([&] { read_class_names(dir / "missing.txt"); });
  EXPECT_CONTAINS(msg, dir / "missing.txt");
  EXPECT_CONTAINS(msg, "No such file");
  EXPECT_CONTAINS(testing::error_of([&] { read_class_names(dir.path()); }),
                  dir.path());  // a folder
  EXPECT_EQ(class_name({"a", "", "c"}, 1), "class-1");
  EXPECT_EQ(class_name({"a", "", "c"}, 2), "c");
  EXPECT_EQ(class_name({"a"}, 5), "class-5");
  EXPECT_EQ(class_name({"a"}, -1), "class--1");
}

TEST(LabelFiles, CategoryMaps) {
  TempDir dir;
  std::ofstream(dir / "a.json") << R"({"categories": [{"id": 90, "name": "toothbrush"},
                                                      {"id": 1, "name": "person"}, {"id": 3}]})";
  const auto coco = read_category_map(dir / "a.json");
  EXPECT_EQ(coco.ids, (std::vector<int64_t>{1, 3, 90}));
  EXPECT_EQ(coco.names, (std::vector<std::string>{"person", "", "toothbrush"}));
  std::ofstream(dir / "b.txt") << "4\r\n8\n\n";
  EXPECT_EQ(read_category_map(dir / "b.txt").ids, (std::vector<int64_t>{4, 8}));
  std::ofstream(dir / "dup.json") << R"({"categories": [{"id": 2}, {"id": 2}]})";
  std::ofstream(dir / "none.json") << R"({"images": []})";
  std::ofstream(dir / "bad.txt") << "1\nperson\n";
  for (const char *bad : {"dup.json", "none.json", "bad.txt", "missing.txt"})
    EXPECT_CONTAINS(testing::error_of([&] { read_category_map(dir / bad); }), dir / bad);
}

}  // namespace
}  // namespace sapnet
