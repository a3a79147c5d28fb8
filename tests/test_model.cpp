// The network, weight import (released files and the project's checkpoints) and parity with the
// authors' code.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "data/image.h"
#include "error.h"
#include "expect_error.h"
#include "model_file.h"
#include "sapnet.h"
#include "shared_data.h"

namespace fs = std::filesystem;

namespace sapnet {
namespace {

constexpr const char *kOfficial = "weights/sapnet-official/Model11_net_latest.pth";
constexpr const char *kPrenet = "weights/prenet-official/PReNet6_Rain100L.pth";

using testing::error_of;

TEST(Network, ParameterNamesAndCountMatchTheAuthors) {
  SAPNet net(NetworkConfig::sapnet());
  int64_t count = 0;
  for (auto &p : net->parameters()) count += p.numel();
  EXPECT_EQ(count, 180483);  // the released state dict's total
  auto names = net->named_parameters();
  EXPECT_TRUE(names.contains("res_conv5.4.conv_du.2.weight"));
  EXPECT_TRUE(names.contains("conv_o.0.bias"));
  SAPNet prenet(NetworkConfig::prenet());
  EXPECT_TRUE(prenet->named_parameters().contains("res_conv3.2.weight"));
  EXPECT_FALSE(prenet->named_parameters().contains("res_conv3.1.conv_du.0.weight"));
}

TEST(Network, ReturnsEveryStageAndAnyConfiguration) {
  NetworkConfig cfg;
  cfg.stages = 3;
  cfg.channels = 8;
  cfg.dilations = {1, 2};
  cfg.cra_reduction = 4;
  SAPNet net(cfg);
  torch::NoGradGuard no_grad;
  auto outs = net->forward_stages(torch::rand({2, 3, 9, 5}));
  ASSERT_EQ(outs.size(), 3u);
  for (auto &o : outs) EXPECT_EQ(o.sizes(), (std::vector<int64_t>{2, 3, 9, 5}));
  EXPECT_EQ(net->forward_stages(torch::rand({1, 3, 4, 4}), 2).size(), 2u);
  NetworkConfig bad;
  bad.stages = 0;
  EXPECT_THROW(SAPNet{bad}, Error);
}

TEST(ReleasedWeights, SapnetAndPrenetAreRecognisedByContent) {
  SAPNET_REQUIRE_SHARED(official, kOfficial);
  SAPNET_REQUIRE_SHARED(prenet, kPrenet);
  auto m = load_model_file(official);
  EXPECT_EQ(m.network, NetworkConfig::sapnet());
  EXPECT_EQ(m.weights.size(), 62u);
  EXPECT_EQ(m.weights.front().first, "conv0.0.weight");  // "module." stripped
  auto p = load_model_file(prenet);
  EXPECT_EQ(p.network, NetworkConfig::prenet());
  SAPNet net(m.network);
  load_weights(*net, m.weights);
  EXPECT_TRUE(torch::equal(net->named_parameters()["conv.0.bias"], m.weights.back().second));
}

// Loads a fixture's PNG as 1 x 3 x H x W floats in [0, 1].
torch::Tensor fixture_input(const std::string &png) {
  RgbImage img = read_image(png);
  return torch::from_blob(img.pixels.data(), {img.height, img.width, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .unsqueeze(0)
      .to(torch::kFloat)
      .div(255.0)
      .contiguous();
}

torch::Tensor read_f32(const std::string &path, torch::IntArrayRef shape) {
  auto t = torch::empty(shape, torch::kFloat);
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char *>(t.data_ptr<float>()), t.nbytes());
  EXPECT_TRUE(f.good()) << path;
  return t;
}

TEST(Parity, MatchesTheAuthorsOutputsFinalAndStage1) {
  SAPNET_REQUIRE_SHARED(official, kOfficial);
  SAPNET_REQUIRE_SHARED(dir, "fixtures/official-sapnet");
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV (fixture inputs are PNGs)";
  auto m = load_model_file(official);
  SAPNet net(m.network);
  load_weights(*net, m.weights);
  net->eval();
  torch::NoGradGuard no_grad;
  for (const auto &name : {"rain-064-crop", "rain-064"}) {
    auto input = fixture_input(dir + "/" + name + ".png");
    auto outs = net->forward_stages(input);
    const auto shape = input.sizes();
    auto final_ref = read_f32(dir + "/" + name + ".sapnet6.f32", shape);
    auto stage1_ref = read_f32(dir + "/" + name + ".stage1.f32", shape);
    const double final_err = (outs.back() - final_ref).abs().max().item<double>();
    const double stage1_err = (outs.front() - stage1_ref).abs().max().item<double>();
    EXPECT_LT(final_err, 1e-4) << name;
    EXPECT_LT(stage1_err, 1e-4) << name;
    RecordProperty(std::string(name) + "_max_abs_diff", std::to_string(final_err));
  }
}

TEST(Checkpoint, RoundTripsWeightsMetadataAndExtraGroups) {
  testing::TempDir dir;
  NetworkConfig cfg;
  cfg.stages = 4;
  SAPNet net(cfg);
  ModelFile m;
  m.network = cfg;
  m.weights = weights_of(*net);
  m.metadata = {{"training", {{"epochs", 3}}}, {"metrics", {{"psnr", 30.5}}}};
  m.extra["optimizer"] = {{"step", torch::tensor({7}, torch::kLong)},
                          {"exp_avg.0", torch::rand({3, 2})}};
  const std::string path = dir / "model.sapnet";
  save_checkpoint(path, m);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  auto back = load_model_file(path);
  EXPECT_EQ(back.format, "sapnet checkpoint");
  EXPECT_EQ(back.network, cfg);
  EXPECT_EQ(back.metadata["metrics"]["psnr"], 30.5);
  ASSERT_EQ(back.weights.size(), m.weights.size());
  for (size_t i = 0; i < m.weights.size(); ++i) {
    EXPECT_EQ(back.weights[i].first, m.weights[i].first);
    EXPECT_TRUE(torch::equal(back.weights[i].second, m.weights[i].second)) << m.weights[i].first;
  }
  ASSERT_EQ(back.extra["optimizer"].size(), 2u);
  EXPECT_EQ(back.extra["optimizer"][0].second.item<int64_t>(), 7);
  EXPECT_TRUE(torch::equal(back.extra["optimizer"][1].second, m.extra["optimizer"][1].second));
}

// eval --record writes scores into the file it scored. A training run may save into that file
// while the evaluation runs: the scores are then of weights the file no longer holds, and were
// written into the new file's card before.
TEST(Checkpoint, RecordsAnEvaluationOnlyIntoTheWeightsThatWereScored_n) {
  testing::TempDir dir;
  NetworkConfig cfg;
  cfg.stages = 2;
  ModelFile scored;
  scored.network = cfg;
  scored.weights = weights_of(*SAPNet(cfg));
  const std::string path = dir / "model.sapnet";
  save_checkpoint(path, scored);

  record_evaluation(path, scored.weights, "Rain100L", {{"psnr", 30.0}});
  EXPECT_EQ(load_model_file(path).metadata["evaluations"]["Rain100L"]["psnr"], 30.0);

  ModelFile trained = scored;
  trained.weights = weights_of(*SAPNet(cfg));  // other random weights, same names and shapes
  trained.metadata = {{"phases", {{{"epochs", 40}}}}};
  save_checkpoint(path, trained);
  EXPECT_CONTAINS(error_of([&] {
                    record_evaluation(path, scored.weights, "Rain100L", {{"psnr", 31.0}});
                  }),
                  "changed while they were being scored");
  const ModelFile after = load_model_file(path);
  EXPECT_FALSE(after.metadata.contains("evaluations")) << after.metadata.dump();
  EXPECT_EQ(after.metadata["phases"][0]["epochs"], 40);
  EXPECT_TRUE(torch::equal(after.weights[0].second, trained.weights[0].second));
}

TEST(ModelFileErrors, MissingNotZipTruncatedCorrupt_n) {
  SAPNET_REQUIRE_SHARED(official, kOfficial);
  testing::TempDir dir;
  EXPECT_CONTAINS(error_of([&] { load_model_file(dir / "absent.pth"); }), dir / "absent.pth");
  EXPECT_CONTAINS(error_of([&] { load_model_file(dir.path()); }), "folder");

  std::ofstream(dir / "text.pth") << "this is not a model";
  EXPECT_CONTAINS(error_of([&] { load_model_file(dir / "text.pth"); }), dir / "text.pth");

  std::ifstream src(official, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(src)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "truncated.pth", std::ios::binary).write(bytes.data(), bytes.size() / 2);
  const auto truncated = error_of([&] { load_model_file(dir / "truncated.pth"); });
  EXPECT_CONTAINS(truncated, dir / "truncated.pth");

  // Flip bytes inside a tensor record: the zip's CRC catches it.
  std::string corrupt = bytes;
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i)
    corrupt[i] = static_cast<char>(~corrupt[i]);
  std::ofstream(dir / "corrupt.pth", std::ios::binary).write(corrupt.data(), corrupt.size());
  EXPECT_CONTAINS(error_of([&] { load_model_file(dir / "corrupt.pth"); }), dir / "corrupt.pth");
}

TEST(ModelFileErrors, MismatchedWeightsListKeysAndShapes_n) {
  SAPNET_REQUIRE_SHARED(prenet, kPrenet);
  auto p = load_model_file(prenet);
  SAPNet sap(NetworkConfig::sapnet());
  const auto msg = error_of([&] { load_weights(*sap, p.weights); });
  EXPECT_CONTAINS(msg, "missing keys: ");
  EXPECT_CONTAINS(msg, "res_conv1.1.conv_du.0.weight");
  EXPECT_CONTAINS(msg, "unexpected keys: res_conv1.2.weight");

  SAPNet pre(NetworkConfig::prenet());
  auto wrong = p.weights;
  wrong[0].second = torch::zeros({16, 6, 3, 3});
  const auto shape_msg = error_of([&] { load_weights(*pre, wrong); });
  EXPECT_CONTAINS(shape_msg, "conv0.0.weight file [16, 6, 3, 3] vs network [32, 6, 3, 3]");

  // A state dict of something else entirely.
  testing::TempDir dir;
  ModelFile odd;
  odd.weights = {{"fc.weight", torch::zeros({2, 2})}};
  NetworkConfig tiny;
  tiny.channels = 4;
  tiny.cra_reduction = 2;
  odd.network = tiny;
  save_checkpoint(dir / "odd.sapnet", odd);
  auto loaded = load_model_file(dir / "odd.sapnet");
  SAPNet small(loaded.network);
  EXPECT_CONTAINS(error_of([&] { load_weights(*small, loaded.weights); }),
                  "unexpected keys: fc.weight");
}

}  // namespace
}  // namespace sapnet
