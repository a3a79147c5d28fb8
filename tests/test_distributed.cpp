// The parts of data-parallel training that need no second process: the rendezvous read from a
// launcher's environment, the local launcher (with shell scripts as ranks) and the gradient
// buckets (with a fake second rank).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "distributed/grad_buckets.h"
#include "distributed/launcher.h"
#include "distributed/rendezvous.h"
#include "error.h"
#include "shared_data.h"

namespace sapnet::dist {
namespace {

Rendezvous from(const std::map<std::string, std::string> &vars) {
  return rendezvous_from_env([&](const char *name) -> const char * {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(Rendezvous, NothingSetIsOneProcess) {
  const Rendezvous r = from({});
  EXPECT_FALSE(r.distributed());
  EXPECT_EQ(r.world_size, 1);
  EXPECT_EQ(r.rank, 0);
}

TEST(Rendezvous, TorchrunAndPyTorchJobVariables) {
  Rendezvous r = from({{"MASTER_ADDR", "10.0.0.7"},
                       {"MASTER_PORT", "29400"},
                       {"RANK", "5"},
                       {"WORLD_SIZE", "8"},
                       {"LOCAL_RANK", "1"},
                       {"LOCAL_WORLD_SIZE", "4"}});
  EXPECT_TRUE(r.distributed());
  EXPECT_EQ(r.rank, 5);
  EXPECT_EQ(r.world_size, 8);
  EXPECT_EQ(r.local_rank, 1);
  EXPECT_EQ(r.local_world_size, 4);
  EXPECT_EQ(r.master_addr, "10.0.0.7");
  EXPECT_EQ(r.master_port, 29400);
  EXPECT_EQ(r.who(5), "rank 5 of 8");
  // A PyTorchJob pod: no local variables.
  r = from({{"MASTER_ADDR", "job-master-0"},
            {"MASTER_PORT", "23456"},
            {"RANK", "2"},
            {"WORLD_SIZE", "3"}});
  EXPECT_EQ(r.rank, 2);
  EXPECT_EQ(r.local_rank, 0);
  EXPECT_EQ(r.local_world_size, 1);
  EXPECT_EQ(r.master_addr, "job-master-0");
}

TEST(Rendezvous, SlurmVariables) {
  std::map<std::string, std::string> slurm = {{"SLURM_PROCID", "3"},
                                              {"SLURM_NTASKS", "4"},
                                              {"SLURM_LOCALID", "1"},
                                              {"SLURM_NTASKS_PER_NODE", "2"},
                                              {"SLURM_LAUNCH_NODE_IPADDR", "192.168.1.20"}};
  Rendezvous r = from(slurm);
  EXPECT_EQ(r.source, "slurm");
  EXPECT_EQ(r.rank, 3);
  EXPECT_EQ(r.world_size, 4);
  EXPECT_EQ(r.local_rank, 1);
  EXPECT_EQ(r.local_world_size, 2);
  EXPECT_EQ(r.master_addr, "192.168.1.20");
  EXPECT_EQ(r.master_port, 29500);
  slurm["MASTER_ADDR"] = "node001";
  slurm["MASTER_PORT"] = "30000";
  slurm["SLURM_NTASKS_PER_NODE"] = "2(x2)";  // not one number: the local rank's lower bound
  r = from(slurm);
  EXPECT_EQ(r.master_addr, "node001");
  EXPECT_EQ(r.master_port, 30000);
  EXPECT_EQ(r.local_world_size, 2);
  // torchrun inside an allocation: its variables win.
  slurm["WORLD_SIZE"] = "2";
  slurm["RANK"] = "0";
  r = from(slurm);
  EXPECT_EQ(r.source, "torchrun/env");
  EXPECT_EQ(r.world_size, 2);
}

TEST(Rendezvous, MalformedVariablesAreNamed_n) {
  auto message = [](const std::map<std::string, std::string> &vars) -> std::string {
    try {
      from(vars);
    } catch (const Error &e) {
      return e.what();
    }
    return "no error";
  };
  const std::map<std::string, std::string> ok = {
      {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}, {"RANK", "1"}, {"WORLD_SIZE", "2"}};
  auto with = [&](const std::string &k, const std::string &v) {
    auto m = ok;
    if (v.empty())
      m.erase(k);
    else
      m[k] = v;
    return m;
  };
  EXPECT_NE(message(with("RANK", "one")).find("RANK='one'"), std::string::npos);
  EXPECT_NE(message(with("RANK", "2")).find("RANK=2 but the world has 2"), std::string::npos);
  EXPECT_NE(message(with("RANK", "")).find("RANK is not set"), std::string::npos);
  EXPECT_NE(message(with("MASTER_ADDR", "")).find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(message(with("MASTER_PORT", "70000")).find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(message(with("WORLD_SIZE", "0")).find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(message({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}).find("MASTER_ADDR"),
            std::string::npos);
}

TEST(Launcher, WithoutOption) {
  const std::vector<std::string> args = {"train", "--nproc",   "2",  "--batch",
                                         "4",     "--nproc=3", "-o", "x"};
  EXPECT_EQ(without_option(args, "--nproc"),
            (std::vector<std::string>{"train", "--batch", "4", "-o", "x"}));
}

TEST(Launcher, FreePortIsBindable) {
  const int port = free_local_port();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

class LauncherTest : public ::testing::Test {
 protected:
  // Every rank runs `sh -c SCRIPT` (the script sees $RANK etc.).
  int launch(const std::string &script, int n, double grace_s = 30) {
    LaunchOptions o;
    o.exe = "/bin/sh";
    o.args = {"-c", script};
    o.nproc = n;
    o.grace_s = grace_s;
    o.env = {{"OUT", dir_.path()}};
    return launch_local(o);
  }
  std::string read(const std::string &name) {
    std::ifstream in(dir_ / name);
    std::string s;
    std::getline(in, s);
    return s;
  }
  testing::TempDir dir_;
};

TEST_F(LauncherTest, EveryRankGetsTheTorchrunVariables) {
  ASSERT_EQ(launch("echo \"$RANK $LOCAL_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $MASTER_ADDR "
                   "$MASTER_PORT\" > \"$OUT/$RANK\"",
                   3),
            0);
  std::string port;
  for (int r = 0; r < 3; ++r) {
    const std::string line = read(std::to_string(r));
    const std::string expected = std::to_string(r) + " " + std::to_string(r) + " 3 3 127.0.0.1 ";
    ASSERT_EQ(line.substr(0, expected.size()), expected) << line;
    if (r == 0) port = line.substr(expected.size());
    EXPECT_EQ(line.substr(expected.size()), port);  // one port for all
  }
  EXPECT_GT(std::stoi(port), 0);
}

TEST_F(LauncherTest, AFailingRanksStatusIsTheResult_n) {
  EXPECT_EQ(launch("[ \"$RANK\" = 1 ] && exit 3; exit 0", 2), 3);
  EXPECT_EQ(launch("[ \"$RANK\" = 0 ] && kill -9 $$; exit 0", 2), 128 + 9);
}

TEST_F(LauncherTest, RanksThatOutliveAFailureAreStoppedAfterTheGrace_n) {
  const auto start = std::chrono::steady_clock::now();
  // Rank 1 fails at once; rank 0 would sleep for a minute.
  EXPECT_EQ(launch("[ \"$RANK\" = 1 ] && exit 4; exec sleep 60", 2, 0.5), 4);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(s, 10);
}

// Two ranks in one process: the "other" rank's buckets are `other_factor` times ours.
class FakeSecondRank : public Communicator {
 public:
  explicit FakeSecondRank(double other_factor) : factor_(other_factor) {}
  int rank() const override { return 0; }
  int world_size() const override { return 2; }
  void all_reduce_sum(const std::vector<at::Tensor> &tensors) override {
    ++calls;
    for (const auto &t : tensors) const_cast<at::Tensor &>(t).mul_(1 + factor_);
  }
  void broadcast_from_rank0(const std::vector<at::Tensor> &tensors) override {
    for (const auto &t : tensors) const_cast<at::Tensor &>(t).fill_(rank0_value);
  }
  int calls = 0;
  double rank0_value = 0.25;

 private:
  double factor_;
};

TEST(GradientBuckets, GradientsAreViewsAveragedInPlace) {
  at::manual_seed(1);
  std::vector<at::Tensor> params = {at::randn({4, 3}).requires_grad_(),
                                    at::randn({5}).requires_grad_(),
                                    at::randn({2, 2, 2}).requires_grad_()};
  // 12 floats per bucket at most: {4x3}, {5}, {2x2x2} land in three buckets.
  GradientBuckets buckets(params, 12 * sizeof(float), 2);
  EXPECT_EQ(buckets.bucket_count(), 3u);
  EXPECT_EQ(buckets.extras().numel(), 2);
  auto loss = [&] {
    return (params[0] * params[0]).sum() + params[1].sum() * 3 + params[2].pow(3).sum();
  };
  loss().backward();
  const std::vector<at::Tensor> single = {params[0].grad().clone(), params[1].grad().clone(),
                                          params[2].grad().clone()};
  for (size_t i = 0; i < params.size(); ++i) {
    // backward accumulated into the buckets themselves
    const auto *base = static_cast<const char *>(buckets.buckets()[i].data_ptr());
    EXPECT_EQ(params[i].grad().data_ptr(), base);
  }
  buckets.extras().fill_(2.0f);
  FakeSecondRank comm(3.0);  // the other rank's gradient is 3x ours: the mean is 2x ours
  buckets.average(comm);
  EXPECT_EQ(comm.calls, 1);
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(at::allclose(params[i].grad(), 2 * single[i])) << i;
  EXPECT_FLOAT_EQ(buckets.extras()[0].item<float>(), 4.0f);

  // zero() stands in for zero_grad; a gradient something replaced (or dropped, as LibTorch 2's
  // zero_grad does) goes back into its bucket before averaging.
  buckets.zero();
  EXPECT_EQ(params[0].grad().abs().sum().item<float>(), 0.0f);
  params[1].mutable_grad() = at::Tensor();
  loss().backward();
  EXPECT_NE(params[1].grad().data_ptr(), buckets.buckets()[1].data_ptr());
  buckets.average(comm);
  EXPECT_EQ(params[1].grad().data_ptr(), buckets.buckets()[1].data_ptr());
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(at::allclose(params[i].grad(), 2 * single[i])) << i;
}

TEST(GradientBuckets, ChannelsLastParametersKeepTheirLayoutAndTheirBucket) {
  // The trainer keeps convolution weights channels-last; their bucket views must share those
  // strides, or each backward would hand back a fresh gradient to copy into the bucket.
  at::manual_seed(2);
  auto weight = at::randn({4, 3, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast);
  std::vector<at::Tensor> params = {weight.requires_grad_(), at::randn({4}).requires_grad_()};
  GradientBuckets buckets(params, 1e6);
  auto x = at::randn({2, 3, 8, 8}).contiguous(at::MemoryFormat::ChannelsLast);
  at::conv2d(x, params[0], params[1], 1, 1).pow(2).sum().backward();
  EXPECT_TRUE(params[0].grad().is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_EQ(params[0].grad().data_ptr(), buckets.buckets()[0].data_ptr());
  // The gradient is right whatever the layout: the same as from a plain NCHW copy.
  auto plain = params[0].detach().contiguous().requires_grad_();
  auto bias = params[1].detach().clone().requires_grad_();
  at::conv2d(x.contiguous(), plain, bias, 1, 1).pow(2).sum().backward();
  EXPECT_TRUE(at::allclose(params[0].grad(), plain.grad(), 1e-4, 1e-5));
}

TEST(GradientBuckets, BroadcastGivesEveryRankRank0sWeights) {
  std::vector<at::Tensor> params = {at::randn({3, 3}).requires_grad_(),
                                    at::randn({7}).requires_grad_()};
  GradientBuckets buckets(params, 1e6, 1);
  EXPECT_EQ(buckets.bucket_count(), 1u);
  FakeSecondRank comm(1.0);
  EXPECT_FALSE(buckets.same_as_rank0(comm));  // rank 0 has 0.25 everywhere, we do not
  buckets.broadcast_parameters(comm);
  for (auto &p : params) EXPECT_TRUE(at::equal(p.detach(), at::full_like(p, 0.25)));
  EXPECT_TRUE(buckets.same_as_rank0(comm));
  EXPECT_TRUE(params[0].requires_grad());
  EXPECT_EQ(params[1].grad().abs().sum().item<float>(), 0.0f);  // gradients left at zero
}

TEST(GradientBuckets, MixedDevicesOrDtypesAreRefused_n) {
  std::vector<at::Tensor> params = {at::randn({2}).requires_grad_(),
                                    at::randn({2}, at::kDouble).requires_grad_()};
  EXPECT_THROW(GradientBuckets(params, 1e6), Error);
  EXPECT_THROW(GradientBuckets({}, 1e6), Error);
}

}  // namespace
}  // namespace sapnet::dist
