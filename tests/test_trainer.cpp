// The trainer: bit-for-bit repeatability, exact resume, the time limit, export parity with the
// Engine.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/paired_folder.h"
#include "data/patch_source.h"
#include "engine.h"
#include "error.h"
#include "eval/evaluate.h"
#include "export/export.h"
#include "model_file.h"
#include "shared_data.h"
#include "synthetic_pack.h"
#include "train/trainer.h"

namespace sapnet {
namespace {

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_pack(dir_ / "data.pack"); }

  TrainOptions tiny(const std::string &out) const {
    TrainOptions o;
    o.packed = {dir_ / "data.pack"};
    o.network.stages = 2;
    o.network.channels = 8;
    o.network.dilations = {1, 2};
    o.network.cra_reduction = 4;
    o.w_seg = 0.1;
    o.seg_classes = 3;
    o.batch = 2;
    o.epochs = 2;
    o.steps_per_epoch = 3;
    o.milestones = {1};
    o.lr = 1e-3;
    o.seed = 5;
    o.threads = 1;
    o.out_dir = dir_ / out;
    return o;
  }

  NamedTensors weights(const std::string &out, const std::string &file = "last.sapnet") {
    return load_model_file(dir_ / (out + "/" + file)).weights;
  }

  static void expect_equal(const NamedTensors &a, const NamedTensors &b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }

  testing::TempDir dir_;
};

TEST_F(TrainerTest, SameSeedRepeatsBitForBitAndWritesLogs) {
  ASSERT_EQ(train(tiny("a")), 0);
  ASSERT_EQ(train(tiny("b")), 0);
  expect_equal(weights("a"), weights("b"));
  auto other = tiny("c");
  other.seed = 6;
  ASSERT_EQ(train(other), 0);
  EXPECT_FALSE(torch::equal(weights("a")[0].second, weights("c")[0].second));
  for (const char *f : {"a/log.csv", "a/log.jsonl", "a/model.sapnet"})
    EXPECT_TRUE(std::filesystem::exists(dir_ / f)) << f;
  auto m = load_model_file(dir_ / "a/model.sapnet");
  EXPECT_EQ(m.metadata["training"]["steps"], 6);
  EXPECT_TRUE(m.metadata["training"]["loss_terms"].contains("seg"));
  EXPECT_TRUE(m.metadata["training"]["inactive_terms"].contains("pcl"));
  EXPECT_TRUE(m.extra.empty());  // the final model carries no optimizer state
}

TEST_F(TrainerTest, ResumeAfterAnEpochOrMidEpochIsExact) {
  ASSERT_EQ(train(tiny("straight")), 0);
  auto first = tiny("resumed");
  first.epochs = 1;
  ASSERT_EQ(train(first), 0);
  auto rest = tiny("resumed");
  rest.resume = true;
  ASSERT_EQ(train(rest), 0);
  expect_equal(weights("straight"), weights("resumed"));

  // A time limit stops after the first step with a resumable checkpoint.
  auto cut = tiny("cut");
  cut.max_minutes = 1e-9;
  ASSERT_EQ(train(cut), 0);
  EXPECT_EQ(load_model_file(dir_ / "cut/last.sapnet").metadata["training"]["step_in_epoch"], 1);
  auto go_on = tiny("cut");
  go_on.resume = true;
  ASSERT_EQ(train(go_on), 0);
  expect_equal(weights("straight"), weights("cut"));
}

// JSON has no infinity: a validation set the model reproduces exactly scores an infinite PSNR,
// which the checkpoint's plotted values hold as null. Resuming such a run stopped with a JSON type
// error although the checkpoint was fine.
TEST_F(TrainerTest, ARunWhoseValidationScoredInfinityResumes) {
  auto first = tiny("inf");
  first.epochs = 1;
  ASSERT_EQ(train(first), 0);
  ModelFile m = load_model_file(dir_ / "inf/last.sapnet");
  m.metadata["training"]["plot_psnr"] = nlohmann::json::array({nullptr});
  save_checkpoint(dir_ / "inf/last.sapnet", m);
  auto rest = tiny("inf");
  rest.resume = true;
  ASSERT_EQ(train(rest), 0);
  EXPECT_EQ(load_model_file(dir_ / "inf/model.sapnet").metadata["training"]["plot_psnr"].size(),
            2u);
}

// The first epoch's mean loss from a run's log.jsonl.
double first_epoch_loss(const std::filesystem::path &dir) {
  std::ifstream in(dir / "log.jsonl");
  std::string line;
  std::getline(in, line);
  return nlohmann::json::parse(line).at("loss").get<double>();
}

TEST_F(TrainerTest, Bf16MixedPrecisionIsCloseToFp32AndRecorded) {
  ASSERT_EQ(train(tiny("fp32")), 0);
  auto mixed = tiny("bf16");
  mixed.precision = Precision::kBf16;
  ASSERT_EQ(train(mixed), 0);
  // The same weights and batches: bf16 arithmetic changes the loss (autocast took effect), but
  // only a little.
  const double full = first_epoch_loss(dir_ / "fp32"), half = first_epoch_loss(dir_ / "bf16");
  EXPECT_NE(full, half);
  EXPECT_NEAR(half, full, 0.02 * std::abs(full));
  for (const auto &[name, w] : weights("bf16"))
    EXPECT_EQ(w.scalar_type(), torch::kFloat) << name << ": the weights stay fp32";
  auto m = load_model_file(dir_ / "bf16/model.sapnet");
  EXPECT_EQ(m.metadata["phases"].back()["precision"], "bf16");
  // A resumed run keeps its precision.
  auto more = tiny("bf16");
  more.resume = true, more.epochs = 3, more.given = {"epochs"};
  ASSERT_EQ(train(more), 0);
  EXPECT_EQ(load_model_file(dir_ / "bf16/model.sapnet").metadata["phases"].back()["precision"],
            "bf16");
}

TEST_F(TrainerTest, BadRequests_n) {
  auto o = tiny("bad");
  o.packed.clear();
  EXPECT_THROW(train(o), Error);  // no data
  auto r = tiny("never-ran");
  r.resume = true;
  EXPECT_THROW(train(r), Error);  // nothing to resume
  auto h = tiny("fp16");
  h.precision = Precision::kFp16;
  EXPECT_THROW(train(h), Error);  // fp16 would need loss scaling
  TrainOptions a;
  EXPECT_THROW(apply_ablation("M9", a), Error);
  apply_ablation("M2", a);
  EXPECT_FALSE(a.network.cra);
  EXPECT_EQ(a.w_pcl, 0.0);
  apply_ablation("M6", a);
  EXPECT_TRUE(a.network.cra);
  EXPECT_GT(a.w_lpips, 0.0);
}

TEST_F(TrainerTest, ExportedTorchScriptMatchesTheEngine) {
  ASSERT_EQ(train(tiny("e")), 0);
  const std::string model = dir_ / "e/model.sapnet", script = dir_ / "e/model.pt";
  export_torchscript(model, script);
  auto module = torch::jit::load(script);
  EngineOptions eo;
  eo.model_path = model;
  Engine engine(eo);
  // Sizes unlike the traced frame's: nothing of one frame size may be baked into the trace.
  for (auto [w, h] : {std::pair{21, 13}, std::pair{8, 30}}) {
    auto x = torch::rand({1, 3, h, w});
    auto scripted = module.forward({x}).toTensor();
    std::vector<float> out(3 * w * h);
    engine.process_planar(x.data_ptr<float>(), out.data(), w, h);
    auto expected = torch::from_blob(out.data(), {1, 3, h, w});
    EXPECT_LT((scripted - expected).abs().max().item<float>(), 1e-5) << w << "x" << h;
  }
  // The module's own parameters, under their state-dict names, not a copy under other names.
  std::map<std::string, torch::Tensor> exported;
  for (const auto &p : module.named_parameters()) exported[p.name] = p.value;
  const NamedTensors saved = load_model_file(model).weights;
  ASSERT_EQ(exported.size(), saved.size());
  for (const auto &[key, tensor] : saved) {
    ASSERT_TRUE(exported.count(key)) << key;
    EXPECT_TRUE(torch::equal(exported[key], tensor)) << key;
  }
  EXPECT_THROW(export_torchscript(dir_ / "e/absent.sapnet", dir_ / "e/x.pt"), Error);
}

TEST_F(TrainerTest, ValidationScoresAsSapnetEvalDoes) {
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  const std::filesystem::path val = std::string(dir_ / "val");
  std::filesystem::create_directories(val / "input");
  std::filesystem::create_directories(val / "target");
  for (int k = 1; k <= 2; ++k) {
    RgbImage rainy(20, 18), clean(20, 18);
    for (size_t i = 0; i < clean.pixels.size(); ++i) {
      clean.pixels[i] = static_cast<uint8_t>((i * (3 + k)) % 200);
      rainy.pixels[i] = static_cast<uint8_t>(std::min<int>(255, clean.pixels[i] + (i % 7) * 9));
    }
    write_image((val / "input" / (std::to_string(k) + ".png")).string(), rainy);
    write_image((val / "target" / (std::to_string(k) + ".png")).string(), clean);
  }
  auto o = tiny("v");
  o.val = val.string();
  o.epochs = 1;
  ASSERT_EQ(train(o), 0);
  std::ifstream log(dir_ / "v/log.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(log, line));
  const auto row = nlohmann::json::parse(line);
  // What `sapnet eval` computes for the final model (the weights validated last).
  EngineOptions eo;
  eo.model_path = dir_ / "v/model.sapnet";
  eo.threads = 1;
  Engine engine(eo);
  const auto pairs = find_pairs(val.string());
  const Scores scores = evaluate_pairs(&engine, pairs.size(), [&](size_t i) {
    return std::pair{read_image(pairs[i].rainy), read_image(pairs[i].clean)};
  });
  EXPECT_GT(row["val_psnr"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(row["val_psnr"].get<double>(), scores.psnr);
  EXPECT_DOUBLE_EQ(row["val_ssim"].get<double>(), scores.ssim);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "v/.validation.sapnet"));
}

TEST_F(TrainerTest, CtrlCHandlerIsRestoredWhenTrainingThrows_n) {
  void (*mine)(int) = [](int) {};
  void (*const before)(int) = std::signal(SIGINT, mine);
  auto o = tiny("diverges");
  o.lr = 1e6;
  o.epochs = 20;
  EXPECT_THROW(train(o), Error);  // training diverged
  EXPECT_EQ(std::signal(SIGINT, before), mine);
}

}  // namespace
}  // namespace sapnet
