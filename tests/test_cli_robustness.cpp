// The `sapnet` command under hostile input: full disks, odd names, absurd flags, broken images,
// divergent training. Each case failed (abort, silent loss or wrong result) before its fix.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "data/image.h"
#include "run_sapnet.h"
#include "shared_data.h"

namespace fs = std::filesystem;

namespace sapnet {
namespace {

using testing::run_sapnet;
using testing::TempDir;

// A small textured RGB image.
RgbImage texture(int w, int h, int k = 0) {
  RgbImage img(w, h);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * (k + 3)) % 251);
  return img;
}

std::string bundled_model() {
  const char *src = std::getenv("SAPNET_SOURCE_DIR");
  return std::string(src ? src : ".") + "/model/sapnet-default.sapnet";
}

std::string quoted(const std::string &s) {
  return "'" + s + "'";
}

// A shell prefix that limits the files a command may write to `kib` KiB, as a full disk would:
// writes past it fail with EFBIG instead of killing the process.
std::string file_size_limit(int kib) {
  return "trap '' XFSZ; ulimit -f " + std::to_string(kib * 2) + ";";
}

bool killed_by_signal(const testing::Result &r) {
  return r.status > 128 || r.out.find("terminate called") != std::string::npos ||
         r.out.find("Aborted") != std::string::npos;
}

std::vector<std::string> leftovers(const std::string &dir) {
  std::vector<std::string> tmp;
  for (auto &e : fs::directory_iterator(dir))
    if (e.path().extension() == ".tmp") tmp.push_back(e.path().string());
  return tmp;
}

// Tiny training flags: one stage of 16 channels on 16-pixel patches.
std::string tiny_train(const std::string &clean_dir, const std::string &out) {
  return "train --clean " + quoted(clean_dir) +
         " --patch 16 --batch 2 --stages 1 --channels 16 --dilations 1 --w-seg 0 "
         "--steps-per-epoch 1 --threads 1 -o " +
         quoted(out);
}

class CliRobustness : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
    fs::create_directories(tmp_ / "clean");
    for (int k = 0; k < 2; ++k)
      write_image(tmp_ / ("clean/" + std::to_string(k) + ".png"), texture(40, 40, k));
  }
  TempDir tmp_;
};

TEST_F(CliRobustness, AFullDiskFailsEachWriterCleanlyAndLeavesNothing_n) {
  const std::string out = tmp_.path();
  // export: TorchScript (no 0-byte file), import: a checkpoint, train: its checkpoints.
  auto r =
      run_sapnet("export --stages 1 -o " + quoted(out + "/m.pt") + " " + quoted(bundled_model()),
                 file_size_limit(64));
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_FALSE(killed_by_signal(r)) << r.out;
  EXPECT_NE(r.out.find("cannot write"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out + "/m.pt"));

  r = run_sapnet("import " + quoted(bundled_model()) + " -o " + quoted(out + "/i.sapnet"),
                 file_size_limit(64));
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_FALSE(killed_by_signal(r)) << r.out;
  EXPECT_NE(r.out.find("cannot write"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out + "/i.sapnet"));

  r = run_sapnet(tiny_train(out + "/clean", out + "/run") + " --epochs 2", file_size_limit(8));
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_FALSE(killed_by_signal(r)) << r.out;
  EXPECT_NE(r.out.find("cannot write"), std::string::npos) << r.out;
  EXPECT_TRUE(leftovers(out).empty());
  if (fs::exists(out + "/run")) {
    EXPECT_TRUE(leftovers(out + "/run").empty());
  }
}

TEST_F(CliRobustness, PackIntoAnExistingFolderSaysSo_n) {
  fs::create_directories(tmp_ / "folder");
  auto r = run_sapnet("pack --clean " + quoted(tmp_ / "clean") + " --patch 16 -o " +
                      quoted(tmp_ / "folder"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("is a folder"), std::string::npos) << r.out;
  EXPECT_TRUE(leftovers(tmp_.path()).empty());
}

TEST_F(CliRobustness, NamesWithManyDigitsAndSymlinkLoopsAreHandled) {
  const std::string in = tmp_ / "in";
  fs::create_directories(in);
  write_image(in + "/frame123456789012345678901234.png", texture(24, 16));
  write_image(in + "/frame2.png", texture(24, 16, 1));
  fs::create_symlink("loop", in + "/loop");  // a link to itself: following it loops
  for (const char *keep : {"", " --keep-going"}) {
    auto r = run_sapnet("derain " + quoted(in) + " --stages 1 -o " + quoted(tmp_ / "out") + keep);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("wrote 2 image(s)"), std::string::npos) << r.out;
  }
  EXPECT_TRUE(fs::exists(tmp_ / "out/frame123456789012345678901234.png"));

  // The same names as pairs for eval.
  const std::string set = tmp_ / "set";
  fs::create_directories(set + "/input");
  fs::create_directories(set + "/target");
  for (const char *n : {"123456789012345678901234", "0123456789012345678901233"}) {
    write_image(set + "/input/" + n + ".png", texture(24, 16));
    write_image(set + "/target/" + n + ".png", texture(24, 16, 1));
  }
  fs::create_symlink("loop", set + "/input/loop");
  auto r = run_sapnet("eval " + quoted(set) + " --identity --json");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(testing::last_json_line(r.out)["count"], 2) << r.out;
}

TEST_F(CliRobustness, AbsurdFlagsGetShortClearMessages_n) {
  auto r = run_sapnet("bench --frames -3");
  EXPECT_NE(r.status, 0);
  EXPECT_LT(r.out.size(), 400u) << r.out;  // no 309-digit bound
  EXPECT_NE(r.out.find("--frames"), std::string::npos) << r.out;

  r = run_sapnet("frobnicate");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("unknown command 'frobnicate'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("derain"), std::string::npos) << r.out;

  // Far more threads than cores: bounded, said, and the work still done.
  write_image(tmp_ / "a.png", texture(24, 16));
  r = run_sapnet("derain " + quoted(tmp_ / "a.png") + " --stages 1 --threads 100000 -o " +
                 quoted(tmp_ / "t"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("100000 threads asked for"), std::string::npos) << r.out;

  r = run_sapnet("export --stages 9 -o " + quoted(tmp_ / "x.pt") + " " + quoted(bundled_model()));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--stages 9 but the model has"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_ / "x.pt"));
}

TEST_F(CliRobustness, FramesTooLargeForMemoryAdviseTiles_n) {
  auto r = run_sapnet("bench --device cpu --engine-only --sizes 100000x100000 --frames 1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_FALSE(killed_by_signal(r)) << r.out;
  EXPECT_NE(r.out.find("memory"), std::string::npos) << r.out;

  r = run_sapnet("bench --device cpu --engine-only --sizes 8000x8000 --frames 1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--tile-size"), std::string::npos) << r.out;

  // derain (a phone's 50-megapixel photo, say) is checked too: it went straight to the network.
  cv::imwrite(tmp_ / "huge.png", cv::Mat::zeros(8000, 8000, CV_8UC3));
  r = run_sapnet("derain " + quoted(tmp_ / "huge.png") + " --stages 1 -o " + quoted(tmp_ / "h"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_FALSE(killed_by_signal(r)) << r.out;
  EXPECT_NE(r.out.find("--tile-size"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_ / "h/huge.png"));
}

TEST_F(CliRobustness, DerainNeverLosesOrOverwritesImages_n) {
  const std::string in = tmp_ / "in";
  fs::create_directories(in);
  write_image(in + "/a.png", texture(24, 16));
  write_image(in + "/a.jpg", texture(24, 16, 1));
  // Two inputs, one output name: refused before anything is written.
  auto r = run_sapnet("derain " + quoted(in + "/a.png") + " " + quoted(in + "/a.jpg") +
                      " --stages 1 -o " + quoted(tmp_ / "out"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("would both be written"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_ / "out/a.png"));

  // Into its own folder: the inputs would be replaced.
  fs::remove(in + "/a.jpg");
  const auto before = fs::last_write_time(in + "/a.png");
  r = run_sapnet("derain " + quoted(in) + " --stages 1 -o " + quoted(in));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("would overwrite the input"), std::string::npos) << r.out;
  EXPECT_EQ(fs::last_write_time(in + "/a.png"), before);

  // A truncated JPEG is an error naming it, not an image with a grey remainder.
  cv::Mat big(64, 64, CV_8UC3);
  cv::randu(big, 0, 255);
  cv::imwrite(in + "/b.jpg", big);
  fs::resize_file(in + "/b.jpg", fs::file_size(in + "/b.jpg") / 2);
  r = run_sapnet("derain " + quoted(in + "/b.jpg") + " --stages 1 -o " + quoted(tmp_ / "o2"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("b.jpg: truncated JPEG"), std::string::npos) << r.out;
  r = run_sapnet("derain " + quoted(in) + " --keep-going --stages 1 -o " + quoted(tmp_ / "o3"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("wrote 1 image(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 skipped"), std::string::npos) << r.out;
}

TEST_F(CliRobustness, DerainKeepsAlphaAndSixteenBits) {
  // RGBA with an alpha ramp, and 16-bit RGB with values between 8-bit levels.
  cv::Mat rgba(16, 24, CV_8UC4), deep(16, 24, CV_16UC3);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 24; ++x) {
      rgba.at<cv::Vec4b>(y, x) = {uint8_t(x * 10), uint8_t(y * 15), 128, uint8_t(x * 10 + y)};
      deep.at<cv::Vec3w>(y, x) = {uint16_t(x * 2000 + 7), uint16_t(y * 3000 + 3), 30001};
    }
  const std::string in = tmp_ / "in";
  fs::create_directories(in);
  cv::imwrite(in + "/rgba.png", rgba);
  cv::imwrite(in + "/deep.png", deep);
  auto r = run_sapnet("derain " + quoted(in) + " --stages 1 -o " + quoted(tmp_ / "out"));
  ASSERT_EQ(r.status, 0) << r.out;
  const cv::Mat a = cv::imread(tmp_ / "out/rgba.png", cv::IMREAD_UNCHANGED);
  ASSERT_EQ(a.channels(), 4);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 24; ++x) ASSERT_EQ(a.at<cv::Vec4b>(y, x)[3], rgba.at<cv::Vec4b>(y, x)[3]);
  const cv::Mat d = cv::imread(tmp_ / "out/deep.png", cv::IMREAD_UNCHANGED);
  ASSERT_EQ(d.depth(), CV_16U);
  // A 16-bit result uses levels an 8-bit one cannot hold (multiples of 257).
  int off_grid = 0;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 24; ++x)
      for (int c = 0; c < 3; ++c) off_grid += d.at<cv::Vec3w>(y, x)[c] % 257 != 0;
  EXPECT_GT(off_grid, 16 * 24);
}

TEST_F(CliRobustness, DivergentTrainingStopsWithAnErrorAndSavesNoModel_n) {
  auto r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 20 --lr 1e6");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("training diverged"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_ / "run/model.sapnet"));
}

TEST_F(CliRobustness, ResumeKeepsTheRunsOptionsAndRefusesAnotherArchitecture_n) {
  auto r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 1");
  ASSERT_EQ(r.status, 0) << r.out;
  // No data flags: the run's own come from run.json; a new epoch count extends it.
  r = run_sapnet("train --resume --epochs 2 -o " + quoted(tmp_ / "run"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("resuming"), std::string::npos) << r.out;
  r = run_sapnet("info --json " + quoted(tmp_ / "run/model.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(testing::last_json_line(r.out)["metadata"]["training"]["steps"], 2) << r.out;

  r = run_sapnet("train --resume --stages 2 --epochs 3 -o " + quoted(tmp_ / "run"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--stages cannot change it"), std::string::npos) << r.out;
}

// The lines of a run folder's log.jsonl: one per finished epoch.
size_t logged_epochs(const fs::path &run) {
  std::ifstream in(run / "log.jsonl");
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

std::string file_bytes(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(CliRobustness, ANewRunInAFolderWithARunIsRefusedUnlessOverwrite_n) {
  auto r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 2");
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string before = file_bytes(tmp_ / "run/last.sapnet");
  // The same command again (without --resume) must not replace the resumable run.
  r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 1 --seed 3");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("holds a training run already"), std::string::npos) << r.out;
  EXPECT_EQ(file_bytes(tmp_ / "run/last.sapnet"), before);
  EXPECT_EQ(logged_epochs(tmp_ / "run"), 2u);

  r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 1 --seed 3 --overwrite");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(file_bytes(tmp_ / "run/last.sapnet"), before);
  EXPECT_EQ(logged_epochs(tmp_ / "run"), 1u) << "the old run's log is gone, not mixed in";

  r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --resume --overwrite");
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("excludes"), std::string::npos) << r.out;
}

// The plot is drawn after each epoch's checkpoint and a failure to draw it is a warning: it used
// to come first and stop the run, so the epoch's checkpoint was never saved (and a resumed epoch
// got a second log row).
TEST_F(CliRobustness, APlotThatCannotBeDrawnDoesNotStopTraining) {
  // A folder (not empty) where the plot's temporary file goes: the plot cannot be written.
  fs::create_directories(tmp_ / "run/plot.png.tmp/x");
  auto r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 2");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("the training plot was not drawn"), std::string::npos) << r.out;
  EXPECT_EQ(logged_epochs(tmp_ / "run"), 2u);
  EXPECT_TRUE(fs::exists(tmp_ / "run/model.sapnet"));
}

// A path that is not UTF-8 cannot be kept in run.json (which --resume reads back): refused up
// front with what to do, not with a raw JSON error.
TEST_F(CliRobustness, ANonUtf8PathIsRefusedBeforeTrainingWithAdvice_n) {
  const std::string latin1 = tmp_ / "caf\xe9";
  fs::create_directories(latin1);
  fs::copy(tmp_ / "clean", latin1, fs::copy_options::recursive);
  auto r = run_sapnet(tiny_train(latin1, tmp_ / "run") + " --epochs 1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("not valid UTF-8"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("json.exception"), std::string::npos) << r.out;
}

TEST_F(CliRobustness, FlagsGivenAtOneResumeHoldAtTheNext) {
  auto r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 1");
  ASSERT_EQ(r.status, 0) << r.out;
  // Extended to 2 epochs, and stopped by the time limit after the first step of the second.
  r = run_sapnet("train --resume --epochs 2 --max-minutes 0.000001 -o " + quoted(tmp_ / "run"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("time limit reached"), std::string::npos) << r.out;
  EXPECT_EQ(logged_epochs(tmp_ / "run"), 1u);
  // Resumed again without --epochs: the 2 epochs given last time still hold.
  r = run_sapnet("train --resume -o " + quoted(tmp_ / "run"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(logged_epochs(tmp_ / "run"), 2u) << r.out;
  r = run_sapnet("info --json " + quoted(tmp_ / "run/model.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(testing::last_json_line(r.out)["metadata"]["training"]["epoch"], 2) << r.out;
}

TEST_F(CliRobustness, SigtermSavesAResumableCheckpointLikeCtrlC) {
  // Endless one-step epochs; SIGTERM once the first checkpoint shows that training runs. The
  // signal's stop saves after a step of the epoch (step_in_epoch 1), an end-of-epoch save at 0.
  const char *exe = std::getenv("SAPNET_EXE");
  ASSERT_NE(exe, nullptr);
  const std::string script =
      "cd " + quoted(tmp_.path()) + " && { " + quoted(exe) + " " +
      tiny_train(tmp_ / "clean", tmp_ / "run") +
      " --epochs 100000 > train.log 2>&1 & pid=$!; "
      "for i in $(seq 1200); do [ -f run/last.sapnet ] || ! kill -0 $pid && break; sleep 0.1; "
      "done; "
      "kill -TERM $pid; wait $pid; echo \"status=$?\"; }";
  FILE *shell = popen(script.c_str(), "r");
  ASSERT_NE(shell, nullptr);
  std::string status;
  char buf[256];
  while (std::fgets(buf, sizeof buf, shell)) status += buf;
  pclose(shell);
  std::ifstream log(tmp_ / "train.log");
  const std::string out{std::istreambuf_iterator<char>(log), std::istreambuf_iterator<char>()};
  EXPECT_NE(status.find("status=130"), std::string::npos) << status << out;
  EXPECT_NE(out.find("interrupted; saved"), std::string::npos) << out;
  ASSERT_TRUE(fs::exists(tmp_ / "run/last.sapnet")) << out;
  auto r = run_sapnet("info --json " + quoted(tmp_ / "run/last.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(testing::last_json_line(r.out)["metadata"]["training"]["step_in_epoch"], 1) << r.out;
}

TEST_F(CliRobustness, AVideoWithAnUpperCaseExtensionIsReadAsAVideo) {
  const fs::path video = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
  if (!fs::exists(video)) GTEST_SKIP() << video << " is missing (Debian's opencv-doc)";
  fs::create_symlink(video, tmp_ / "VTEST.AVI");  // as a phone names its clips
  auto r = run_sapnet(tiny_train(tmp_ / "VTEST.AVI", tmp_ / "run") +
                      " --epochs 1 --video-step 400 --max-side 64");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("cannot decode image"), std::string::npos) << r.out;
}

TEST_F(CliRobustness, AValidationImageTooSmallForSsimStopsBeforeTraining_n) {
  const std::string val = tmp_ / "val";
  fs::create_directories(val + "/input");
  fs::create_directories(val + "/target");
  write_image(val + "/input/1.png", texture(24, 16));
  write_image(val + "/target/1.png", texture(24, 16, 1));
  write_image(val + "/input/2.png", texture(8, 8));
  write_image(val + "/target/2.png", texture(8, 8, 1));
  auto r =
      run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 1 --val " + quoted(val));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("2.png: 8x8 is smaller than the 11x11 that SSIM needs"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(tmp_ / "run/last.sapnet")) << "stopped before any training";
}

TEST_F(CliRobustness, ABadValidationImageStopsBeforeTrainingOrIsSkipped_n) {
  const std::string val = tmp_ / "val";
  fs::create_directories(val + "/input");
  fs::create_directories(val + "/target");
  for (int k = 0; k < 2; ++k) {
    write_image(val + "/input/" + std::to_string(k) + ".png", texture(24, 16, k));
    write_image(val + "/target/" + std::to_string(k) + ".png", texture(24, 16, k + 1));
  }
  std::ofstream(val + "/input/1.png") << "not a png";
  auto r =
      run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 1 --val " + quoted(val));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("validation set"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1.png"), std::string::npos) << r.out;

  r = run_sapnet(tiny_train(tmp_ / "clean", tmp_ / "run") + " --epochs 1 --skip-bad --val " +
                 quoted(val));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("validation pair skipped"), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(tmp_ / "run/model.sapnet"));
  // The card says what the last validation measured, on how many pairs.
  r = run_sapnet("info " + quoted(tmp_ / "run/model.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("validation  val, 1 images, last epoch of training: "), std::string::npos)
      << r.out;
}

TEST_F(CliRobustness, StageWeightsTrainEveryExitAndTheModelRecordsItsPhases) {
  const std::string two = "train --clean " + quoted(tmp_ / "clean") +
                          " --patch 16 --batch 2 --stages 2 --channels 16 --dilations 1 --w-seg 0 "
                          "--steps-per-epoch 1 --epochs 1 --threads 1";
  auto r = run_sapnet(two + " --stage-weights 1 -o " + quoted(tmp_ / "bad"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--stage-weights has 1 weight(s) for a 2-stage network"), std::string::npos)
      << r.out;
  r = run_sapnet(two + " --stage-weights 0.5 1 -o " + quoted(tmp_ / "run"));
  ASSERT_EQ(r.status, 0) << r.out;
  // A second phase from the first: the card lists both, with names, not this machine's paths.
  r = run_sapnet(two + " --heavy-fraction 0.5 --init " + quoted(tmp_ / "run/model.sapnet") +
                 " -o " + quoted(tmp_ / "run2"));
  ASSERT_EQ(r.status, 0) << r.out;
  r = run_sapnet("info --json " + quoted(tmp_ / "run2/model.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto meta = testing::last_json_line(r.out)["metadata"];
  ASSERT_EQ(meta["phases"].size(), 2u) << meta.dump();
  EXPECT_EQ(meta["phases"][0]["stage_weights"], nlohmann::json::array({0.5, 1.0}));
  EXPECT_EQ(meta["phases"][1]["heavy_fraction"], 0.5);
  EXPECT_EQ(meta["phases"][1]["clean"][0], "clean");
  EXPECT_EQ(meta["phases"][1]["init"], "model.sapnet");
  EXPECT_EQ(meta.dump().find(tmp_.path()), std::string::npos) << meta.dump();
  // Resumed for one more epoch, the phase still names its start.
  r = run_sapnet("train --resume --epochs 2 -o " + quoted(tmp_ / "run2"));
  ASSERT_EQ(r.status, 0) << r.out;
  r = run_sapnet("info --json " + quoted(tmp_ / "run2/model.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto resumed = testing::last_json_line(r.out)["metadata"];
  ASSERT_EQ(resumed["phases"].size(), 2u) << resumed.dump();
  EXPECT_EQ(resumed["phases"][1]["steps"], 2) << resumed.dump();
  EXPECT_EQ(resumed["phases"][1]["init"], "model.sapnet") << resumed.dump();

  // eval --record writes the scores into the card; info shows them and the phases readably.
  const std::string set = tmp_ / "pairs";
  fs::create_directories(set + "/input");
  fs::create_directories(set + "/target");
  write_image(set + "/input/1.png", texture(24, 16));
  write_image(set + "/target/1.png", texture(24, 16, 1));
  r = run_sapnet("eval " + quoted(set) + " --stages 1 --record --json -m " +
                 quoted(tmp_ / "run2/model.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  const double psnr = testing::last_json_line(r.out)["psnr"];
  r = run_sapnet("info " + quoted(tmp_ / "run2/model.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  char line[96];
  std::snprintf(line, sizeof line, "scored      pairs (1 stages): %.2f dB", psnr);
  EXPECT_NE(r.out.find(line), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("phase 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("from model.sapnet"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("loss terms "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << "a raw JSON line in the card:\n" << r.out;
}

// eval --record checks what it will write into before scoring anything: scores that cannot be
// recorded used to be computed in full (minutes on a real set), then thrown away with the error.
// Here the set's one pair is mismatched, so scoring would fail first if it came first.
// Scores are recorded under the dataset folder's own name, also when it is given as "." or its
// name is not UTF-8 (which JSON cannot hold: written as U+FFFD rather than failing the save).
TEST_F(CliRobustness, EvalRecordNamesTheSetByItsFolder) {
  auto r = run_sapnet("import " + quoted(bundled_model()) + " -o " + quoted(tmp_ / "m.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  for (const std::string name : {"Rain9", "caf\xe9"}) {
    const std::string set = tmp_ / name;
    fs::create_directories(set + "/input");
    fs::create_directories(set + "/target");
    write_image(set + "/input/1.png", texture(24, 16));
    write_image(set + "/target/1.png", texture(24, 16, 1));
    r = run_sapnet("eval . --stages 1 --record -m " + quoted(tmp_ / "m.sapnet"),
                   "cd " + quoted(set) + " &&");
    EXPECT_EQ(r.status, 0) << r.out;
  }
  r = run_sapnet("info --json " + quoted(tmp_ / "m.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto evaluations = testing::last_json_line(r.out)["metadata"]["evaluations"];
  EXPECT_TRUE(evaluations.contains("Rain9 (1 stages)")) << evaluations;
  EXPECT_TRUE(evaluations.contains("caf\xef\xbf\xbd (1 stages)")) << evaluations;
  EXPECT_FALSE(evaluations.contains(". (1 stages)")) << evaluations;
}

// Importing a checkpoint with fewer stages keeps only the scores that describe the new model: the
// exit it now ends at becomes its score, exits beyond it go. They used to be kept as they were,
// so `info` showed the 6-stage score for a 4-stage model.
TEST_F(CliRobustness, ImportWithOtherStagesKeepsOnlyScoresOfTheNewModel) {
  auto r = run_sapnet("info --json " + quoted(bundled_model()));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto before = testing::last_json_line(r.out)["metadata"]["evaluations"];
  if (!before.contains("Rain100L (4 stages)")) GTEST_SKIP() << "the bundled card has no exits";
  r = run_sapnet("import " + quoted(bundled_model()) + " --stages 4 -o " +
                 quoted(tmp_ / "four.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  r = run_sapnet("info --json " + quoted(tmp_ / "four.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto card = testing::last_json_line(r.out);
  EXPECT_EQ(card["network"]["stages"], 4);
  const auto after = card["metadata"]["evaluations"];
  EXPECT_EQ(after["Rain100L"], before["Rain100L (4 stages)"]);
  EXPECT_EQ(after["Rain100L (1 stages)"], before["Rain100L (1 stages)"]);
  EXPECT_FALSE(after.contains("Rain100L (4 stages)")) << after;
  EXPECT_FALSE(after.contains("Rain100L (5 stages)")) << after;
  EXPECT_FALSE(after.contains("SIRR-Val20")) << "scored with 6 stages: " << after;
}

// Phases that ran before checkpoints recorded them are added to a card from a JSON file, before its
// own phases, each with a note saying where its record comes from (one without is refused).
TEST_F(CliRobustness, EarlierPhasesGoBeforeTheCardsOwnWithTheirNotes) {
  auto r = run_sapnet("info --json " + quoted(bundled_model()));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto own = testing::last_json_line(r.out)["metadata"]["phases"];
  std::ofstream(tmp_ / "early.json") << R"([{"steps": 7, "seed": 99, "note": "from a notebook"}])";
  r = run_sapnet("import " + quoted(bundled_model()) + " --earlier-phases " +
                 quoted(tmp_ / "early.json") + " -o " + quoted(tmp_ / "m.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  r = run_sapnet("info --json " + quoted(tmp_ / "m.sapnet"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto card = testing::last_json_line(r.out)["metadata"];
  ASSERT_EQ(card["phases"].size(), own.size() + 1);
  EXPECT_EQ(card["phases"][0]["seed"], 99);
  EXPECT_EQ(card["phases"][1], own[0]);
  EXPECT_FALSE(card.contains("imported_from")) << "a checkpoint is not released weights";
  r = run_sapnet("info " + quoted(tmp_ / "m.sapnet"));
  EXPECT_NE(r.out.find("note: from a notebook"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed 99, on "), std::string::npos) << "no time recorded: none shown\n"
                                                           << r.out;

  std::ofstream(tmp_ / "bare.json") << R"([{"steps": 7}])";
  r = run_sapnet("import " + quoted(bundled_model()) + " --earlier-phases " +
                 quoted(tmp_ / "bare.json") + " -o " + quoted(tmp_ / "n.sapnet"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("phase 1 is not an object with a \"note\""), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_ / "n.sapnet"));
}

TEST_F(CliRobustness, EvalRecordChecksItsTargetBeforeScoring_n) {
  const std::string set = tmp_ / "mismatched";
  fs::create_directories(set + "/input");
  fs::create_directories(set + "/target");
  write_image(set + "/input/1.png", texture(24, 16));
  write_image(set + "/target/1.png", texture(20, 16));
  auto r = run_sapnet("eval " + quoted(set) + " --identity --record");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--record needs a model"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("differ in size"), std::string::npos) << r.out;
  const std::string released =
      testing::shared_path("weights/sapnet-official/Model11_net_latest.pth");
  if (released.empty()) GTEST_SKIP() << "../shared/weights is absent (released weights)";
  r = run_sapnet("eval " + quoted(set) + " --stages 1 --record -m " + quoted(released));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--record needs a sapnet checkpoint"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("differ in size"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sapnet
