// The `sapnet` command end to end: --help, eval acceptance on Rain100L, derain against the authors'
// PNG, import, and the errors a user sees.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bench/kernel_profile.h"
#include "data/image.h"
#include "run_sapnet.h"
#include "shared_data.h"

namespace sapnet {
namespace {

using testing::last_json_line;
using testing::run_sapnet;

TEST(Cli, HelpOnEverySubcommand) {
  for (const char *sub :
       {"", "derain", "eval", "info", "import", "train", "pack", "export", "bench", "picture"}) {
    auto r = run_sapnet(std::string(sub) + " --help");
    EXPECT_EQ(r.status, 0) << sub << r.out;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub;
  }
  EXPECT_NE(run_sapnet("").status, 0);
}

TEST(Cli, EvalIdentityOnRain100LMatchesThePaperRainyRow) {
  SAPNET_REQUIRE_SHARED(dir, "data/Rain100L");
  auto r = run_sapnet("eval '" + dir + "' --identity --json");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = last_json_line(r.out);
  EXPECT_EQ(j["count"], 100);
  EXPECT_NEAR(j["psnr"].get<double>(), 25.52, 0.01);  // Table 3, 'Rainy'
  EXPECT_NEAR(j["ssim"].get<double>(), 0.825, 0.001);
}

TEST(Cli, DerainReproducesTheAuthorsPngAndImportKeepsIt) {
  SAPNET_REQUIRE_SHARED(weights, "weights/sapnet-official/Model11_net_latest.pth");
  SAPNET_REQUIRE_SHARED(fixtures, "fixtures/official-sapnet");
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir tmp;
  auto r = run_sapnet("derain '" + fixtures + "/rain-064-crop.png' -o '" + tmp.path() +
                      "/a' --model '" + weights + "'");
  ASSERT_EQ(r.status, 0) << r.out;
  const RgbImage ours = read_image(tmp / "a/rain-064-crop.png");
  const RgbImage theirs = read_image(fixtures + "/rain-064-crop.sapnet6.png");
  ASSERT_EQ(ours.pixels.size(), theirs.pixels.size());
  int off = 0, differ = 0;
  for (size_t i = 0; i < ours.pixels.size(); ++i) {
    off += std::abs(ours.pixels[i] - theirs.pixels[i]) > 1;
    differ += ours.pixels[i] != theirs.pixels[i];
  }
  EXPECT_EQ(off, 0);
  // Bytes made as the authors' test.py makes them (truncated, not rounded, which would move about
  // half of them): only float noise at a level's edge may differ.
  EXPECT_LT(differ, int(ours.pixels.size() / 100)) << differ << " of " << ours.pixels.size();

  r = run_sapnet("import '" + weights + "' -o '" + tmp.path() + "/imported.sapnet'");
  ASSERT_EQ(r.status, 0) << r.out;
  r = run_sapnet("info --json '" + tmp.path() + "/imported.sapnet'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(last_json_line(r.out)["parameters"], 180483);
  r = run_sapnet("derain '" + fixtures + "/rain-064-crop.png' -o '" + tmp.path() + "/b' --model '" +
                 tmp.path() + "/imported.sapnet'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(read_image(tmp / "b/rain-064-crop.png").pixels, ours.pixels);
}

TEST(Cli, BundledModelIsUsedWithoutModelAndCarriesItsCard) {
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir tmp;
  RgbImage img(24, 16);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 7);
  write_image(tmp / "in.png", img);
  auto r = run_sapnet("derain '" + tmp.path() + "/in.png' -o '" + tmp.path() + "/out' --stages 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("bundled default model"), std::string::npos) << r.out;
  EXPECT_EQ(read_image(tmp / "out/in.png").width, 24);
  // The model card lives in the checkpoint: how it was trained and what it scored.
  auto path = r.out.substr(r.out.find("sapnet: /") + 8);
  path = path.substr(0, path.find(':'));
  auto info = run_sapnet("info --json '" + path + "'");
  ASSERT_EQ(info.status, 0) << info.out;
  const auto j = last_json_line(info.out);
  EXPECT_GT(j["metadata"]["training"]["steps"].get<int>(), 0);
  EXPECT_TRUE(j["metadata"]["training"]["loss_terms"].contains("ssim"));
}

TEST(Cli, ErrorsNameTheFile_n) {
  testing::TempDir tmp;
  std::ofstream(tmp / "bad.pth") << "garbage";
  auto r = run_sapnet("derain '" + tmp.path() + "' -o '" + tmp.path() + "/out' --model '" +
                      tmp.path() + "/bad.pth'");
  EXPECT_NE(r.status, 0);
  auto r2 = run_sapnet("info '" + tmp.path() + "/bad.pth'");
  EXPECT_NE(r2.status, 0);
  EXPECT_NE(r2.out.find("bad.pth"), std::string::npos) << r2.out;

  // No --model and no default model: says so and names where it looked.
  auto r3 = run_sapnet("derain '" + tmp.path() + "/bad.pth' -o '" + tmp.path() + "/out'",
                       "SAPNET_MODEL=" + tmp.path() + "/none.sapnet");
  EXPECT_NE(r3.status, 0);
  EXPECT_NE(r3.out.find("none.sapnet"), std::string::npos) << r3.out;

  // A dataset with an undecodable image names it.
  std::filesystem::create_directories(tmp / "set/input");
  std::filesystem::create_directories(tmp / "set/target");
  std::ofstream(tmp / "set/input/1.png") << "not a png";
  std::ofstream(tmp / "set/target/1.png") << "not a png";
  auto r4 = run_sapnet("eval '" + tmp.path() + "/set' --identity");
  EXPECT_NE(r4.status, 0);
  EXPECT_NE(r4.out.find("1.png"), std::string::npos) << r4.out;
}

TEST(Cli, CtrlCSavesAResumableCheckpoint) {
  const char *exe = std::getenv("SAPNET_EXE");
  ASSERT_NE(exe, nullptr);
  testing::TempDir tmp;
  // Clean images for synthesized rain, written as PNGs.
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  std::filesystem::create_directories(tmp / "clean");
  for (int k = 0; k < 2; ++k) {
    RgbImage img(40, 40);
    for (size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = static_cast<uint8_t>(i * (k + 3));
    write_image(tmp / ("clean/" + std::to_string(k) + ".png"), img);
  }
  const std::string train =
      std::string("'") + exe + "' train --clean '" + tmp.path() + "/clean' --patch 16 --batch 2 " +
      "--stages 1 --channels 16 --dilations 1 --w-seg 0 --steps-per-epoch 1 --epochs 100000 " +
      "--threads 1 -o '" + tmp.path() + "/run'";
  // Start training, wait for the first epoch's checkpoint, then interrupt it as Ctrl-C would.
  const std::string script = train + " >/dev/null 2>&1 & pid=$!; for i in $(seq 600); do " +
                             "[ -f '" + tmp.path() +
                             "/run/last.sapnet' ] && break; sleep 0.1; done; " +
                             "kill -INT $pid; wait $pid; echo \"status=$?\"";
  FILE *p = popen(script.c_str(), "r");
  char buf[256] = {};
  std::string out;
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  EXPECT_NE(out.find("status=130"), std::string::npos) << out;
  auto info = run_sapnet("info --json '" + tmp.path() + "/run/last.sapnet'");
  ASSERT_EQ(info.status, 0) << info.out;
  const auto j = last_json_line(info.out);
  EXPECT_GE(j["metadata"]["training"]["steps"].get<int>(), 1);
  // --resume picks it up and runs to a (now smaller) epoch count.
  auto resumed =
      run_sapnet("train --clean '" + tmp.path() +
                 "/clean' --patch 16 --batch 2 --w-seg 0 --steps-per-epoch 1 " + "--epochs " +
                 std::to_string(j["metadata"]["training"]["epoch"].get<int>() + 2) +
                 " --threads 1 --resume -o '" + tmp.path() + "/run'");
  EXPECT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming"), std::string::npos) << resumed.out;
  EXPECT_TRUE(std::filesystem::exists(tmp / "run/model.sapnet"));
}

TEST(Cli, BenchTimesTheEngineAndTheElement) {
  // The bundled model, tiny frames, one stage: the command's mechanics, not a speed claim.
  const auto t0 = std::chrono::steady_clock::now();
  auto r =
      run_sapnet("bench --device cpu --sizes 24x16 40x8 --frames 3 --warmup 2 --stages 1 --json");
  const double command_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = last_json_line(r.out);
  EXPECT_EQ(j["device"], "cpu");
  ASSERT_EQ(j["rows"].size(), 4u) << j.dump();  // engine and element for each size
  // The test environment points GStreamer at the plugin when this build has one: then the element
  // must be timed, never skipped with a note.
  const bool plugin_built = std::getenv("GST_PLUGIN_PATH_1_0") != nullptr;
  for (const auto &row : j["rows"]) {
    EXPECT_EQ(row["precision"], "fp32");
    const bool element = row["what"] == "element";
    if (element && !plugin_built) {
      EXPECT_TRUE(row.contains("note")) << row.dump();
      continue;
    }
    ASSERT_FALSE(row.contains("note")) << row.dump();
    const double ms = row["ms_per_frame"].get<double>(), fps = row["fps"].get<double>();
    EXPECT_GT(ms, 0.0) << row.dump();  // for the element: its own last-latency-ms
    EXPECT_EQ(row["frames_timed"], 3) << row.dump();
    // fps is counted against a clock of its own. Frames go through one at a time, so the time
    // spent inside the Engine or element per frame fits in the wall time per frame ...
    EXPECT_LE(fps * ms, 1000.0 * 1.02) << row.dump();
    // ... and the timed frames took no longer than the whole command did.
    EXPECT_GE(fps, 3 / command_s) << row.dump();
    if (element) {  // the element counted the warm-up and timed frames itself, and timed them all
      EXPECT_EQ(row["frames_processed"], 5) << row.dump();
      EXPECT_GT(row["average_latency_ms"].get<double>(), 0.0) << row.dump();
    }
    EXPECT_FALSE(row.contains("peak_gpu_mib"));  // CPU rows have no GPU memory
    EXPECT_FALSE(row.contains("warmup_peak_gpu_mib"));
  }
  EXPECT_EQ(j["rows"][0]["what"], "engine");
  EXPECT_EQ(j["rows"][0]["size"], "24x16");
  EXPECT_EQ(j["rows"][1]["what"], "element");

  auto bad = run_sapnet("bench --device cpu --sizes 24by16 --engine-only");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("24by16"), std::string::npos) << bad.out;
  EXPECT_NE(run_sapnet("bench --engine-only --element-only").status, 0);
}

}  // namespace
// Kernels are told apart by their names as cuDNN, CUTLASS and ATen give them (names as a CUDA
// profile of the Engine records them), and summed per frame.
TEST(BenchProfile, KernelsAreClassedByNameAndSummedPerFrame) {
  const std::vector<KernelRun> runs{
      {"sm90_xmma_fprop_implicit_gemm_f16f16_f16f32_f32_nhwckrsc_nhwc_tilesize128x64x64", 4000000},
      {"void cudnn::engines_precompiled::nchwToNhwcKernel<__half>", 500000},
      {"void at::native::vectorized_elementwise_kernel<4, at::native::sigmoid_kernel_cuda>",
       3000000},
      {"void at::native::vectorized_elementwise_kernel<4, at::native::sigmoid_kernel_cuda>",
       3000000},
      {"void at::native::reduce_kernel<512, 1, at::native::ReduceOp<c10::Half>>", 1000000},
      {"Memcpy HtoD (Pinned -> Device)", 200000},
      {"void at::native::direct_copy_kernel_cuda", 300000},
      {"void some_custom_kernel", 1000000}};
  EXPECT_EQ(classify_kernel("void at::native::vectorized_elementwise_kernel<4, convert_to_half>"),
            KernelClass::kElementwise);
  EXPECT_EQ(classify_kernel("void implicit_convolve_sgemm<float, 1024, 5, 5, 3, 3, 3, 1>"),
            KernelClass::kConvolution);
  EXPECT_EQ(classify_kernel(runs[0].name), KernelClass::kConvolution);
  EXPECT_EQ(classify_kernel(runs[1].name), KernelClass::kConvolution);
  EXPECT_EQ(classify_kernel(runs[2].name), KernelClass::kElementwise);
  EXPECT_EQ(classify_kernel(runs[4].name), KernelClass::kReduction);
  EXPECT_EQ(classify_kernel(runs[5].name), KernelClass::kCopy);
  EXPECT_EQ(classify_kernel(runs[6].name), KernelClass::kCopy);
  EXPECT_EQ(classify_kernel(runs[7].name), KernelClass::kOther);
  const KernelProfile p = summarize_kernels(runs, 2, 3);
  EXPECT_DOUBLE_EQ(p.ms_per_frame, 13.0 / 2);
  EXPECT_DOUBLE_EQ(p.class_ms_per_frame[int(KernelClass::kConvolution)], 4.5 / 2);
  EXPECT_DOUBLE_EQ(p.class_ms_per_frame[int(KernelClass::kElementwise)], 6.0 / 2);
  EXPECT_DOUBLE_EQ(p.class_ms_per_frame[int(KernelClass::kCopy)], 0.5 / 2);
  ASSERT_EQ(p.top.size(), 3u);  // the longest first: the two sigmoid runs are one kernel
  EXPECT_EQ(p.top[0].name, runs[2].name);
  EXPECT_DOUBLE_EQ(p.top[0].calls_per_frame, 1.0);
  EXPECT_DOUBLE_EQ(p.top[0].ms_per_frame, 3.0);
  EXPECT_EQ(p.top[1].name, runs[0].name);
}

// --profile records the Engine's frames: a trace file per Engine row and a summary in the JSON.
TEST(Cli, BenchProfileWritesATraceAndASummary) {
  testing::TempDir tmp;
  auto r = run_sapnet(
      "bench --device cpu --sizes 24x16 --frames 1 --warmup 0 --stages 1 "
      "--engine-only --profile '" +
      tmp.path() + "/prof' --profile-frames 2 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = last_json_line(r.out);
  ASSERT_EQ(j["rows"].size(), 1u) << j.dump();
  const auto &p = j["rows"][0]["profile"];
  ASSERT_TRUE(p.is_object()) << j.dump();
  EXPECT_EQ(p["frames"], 2);
  if (p.contains("trace")) {
    const std::string trace = p["trace"];
    EXPECT_EQ(trace, tmp.path() + "/prof/engine-24x16-fp32.json");
    std::ifstream f(trace);
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("traceEvents"), std::string::npos) << "not a Chrome trace: " << trace;
  } else {  // a LibTorch without Kineto (Debian's) says so, and still sums the operators
    EXPECT_NE(p["trace_note"].get<std::string>().find("Kineto"), std::string::npos) << p.dump();
  }
  EXPECT_GT(p["ms_per_frame"].get<double>(), 0.0) << p.dump();
  EXPECT_FALSE(p["top"].empty()) << p.dump();
}

}  // namespace sapnet
