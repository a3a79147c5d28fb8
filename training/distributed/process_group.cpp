#include "distributed/process_group.h"

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if SAPNET_WITH_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

namespace sapnet::dist {
namespace {

using Clock = std::chrono::steady_clock;

// LibTorch 2 split the collectives of a process group into a Backend; 1.13's Gloo and NCCL classes
// are process groups themselves. Both offer the same allreduce/broadcast.
#if TORCH_VERSION_MAJOR >= 2
using BackendPtr = c10::intrusive_ptr<c10d::Backend>;
#else
using BackendPtr = c10::intrusive_ptr<c10d::ProcessGroup>;
#endif

constexpr auto kTick = std::chrono::milliseconds(200);  // heartbeat period

std::chrono::milliseconds millis(double s) {
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

std::string first_line(const std::string &what) {
  return what.substr(0, what.find('\n'));
}

std::vector<uint8_t> bytes_of(const std::string &s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::string beat_key(int rank) {
  return "sapnet/beat/" + std::to_string(rank);
}
std::string failed_key(int rank) {
  return "sapnet/failed/" + std::to_string(rank);
}

// Rank 0's store (its server unless torchrun's agent serves one), under the run's prefix.
c10::intrusive_ptr<c10d::Store> connect_store(const Rendezvous &env, bool server,
                                              double timeout_s) {
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<uint16_t>(env.master_port);
  opts.isServer = server && !env.agent_store;
  opts.waitWorkers = false;  // the meeting below names who is missing
  opts.timeout = millis(timeout_s);
  auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
  if (env.store_prefix.empty()) return tcp;
  return c10::make_intrusive<c10d::PrefixStore>(env.store_prefix, tcp);
}

// State the main thread and the heartbeat thread share; the thread keeps it alive, so that a
// thread stuck on a stopped rank 0 can be left behind safely.
struct Watch {
  std::mutex m;
  std::condition_variable cv;
  bool stop = false, exited = false;
  bool observe_all = false;  // diagnosing: read every rank's heartbeat
  std::string watch_key;     // a key rank 0 sets (wait_for_rank0)
  bool key_seen = false;
  std::string post_failure;  // this rank's failure, to publish
  bool failure_posted = false;
  std::vector<int64_t> beats;              // last heartbeat count read per rank
  std::vector<Clock::time_point> changed;  // when each count was last seen to move
  std::map<int, std::string> failures;     // what failed ranks said
  Clock::time_point last_ok;               // the last store operation that returned
  bool store_gone = false;
  std::string store_error;
};

// Beats every kTick through its own store client, reads rank 0's heartbeat (every rank's while
// diagnosing), the failures ranks published and a watched key.
void heartbeat(std::shared_ptr<Watch> w, Rendezvous env, double timeout_s) {
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = connect_store(env, false, timeout_s);
    const std::string mine = beat_key(env.rank);
    std::vector<std::string> keys(env.world_size);
    for (int r = 0; r < env.world_size; ++r) keys[r] = beat_key(r);
    std::vector<std::string> one(1);
    for (;;) {
      std::string watch, post;
      bool all = false;
      {
        std::unique_lock<std::mutex> lock(w->m);
        if (w->stop) break;
        watch = w->watch_key, all = w->observe_all, post = w->post_failure;
      }
      if (!post.empty()) {
        store->set(failed_key(env.rank), bytes_of(post));
        store->add("sapnet/failures", 1);
      }
      store->add(mine, 1);
      const int64_t failures = store->add("sapnet/failures", 0);
      std::map<int, std::string> said;
      if (failures > 0)
        for (int r = 0; r < env.world_size; ++r) {
          one[0] = failed_key(r);
          if (r != env.rank && store->check(one)) {
            auto v = store->get(one[0]);
            said[r] = std::string(v.begin(), v.end());
          }
        }
      std::vector<std::pair<int, int64_t>> seen;
      for (int r = 0; r < env.world_size; ++r)
        if (r != env.rank && (r == 0 || all)) seen.emplace_back(r, store->add(keys[r], 0));
      bool key_seen = false;
      if (!watch.empty()) one[0] = watch, key_seen = store->check(one);
      {
        std::unique_lock<std::mutex> lock(w->m);
        const auto now = Clock::now();
        w->last_ok = now;
        if (!post.empty()) w->failure_posted = true, w->post_failure.clear();
        for (auto &[r, msg] : said) w->failures[r] = msg;
        // The first count read is a baseline, not a sign of life.
        for (auto [r, count] : seen) {
          if (w->beats[r] >= 0 && count != w->beats[r]) w->changed[r] = now;
          w->beats[r] = count;
        }
        if (!watch.empty() && watch == w->watch_key) w->key_seen = key_seen;
        w->cv.notify_all();
        w->cv.wait_for(lock, kTick, [&] { return w->stop; });
        if (w->stop) break;
      }
    }
  } catch (const std::exception &e) {
    std::unique_lock<std::mutex> lock(w->m);
    w->store_gone = true;
    w->store_error = first_line(e.what());
  }
  std::unique_lock<std::mutex> lock(w->m);
  w->exited = true;
  w->cv.notify_all();
}

// A rank that dies closes its sockets; the next write to one must fail the collective (which
// explain() then names), not end this rank with SIGPIPE (status 141, no message). Ignored while a
// process group lives; the previous disposition comes back with it.
class SigpipeIgnored {
 public:
  SigpipeIgnored() {
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &previous_);
  }
  ~SigpipeIgnored() { sigaction(SIGPIPE, &previous_, nullptr); }
  SigpipeIgnored(const SigpipeIgnored &) = delete;
  SigpipeIgnored &operator=(const SigpipeIgnored &) = delete;

 private:
  struct sigaction previous_ = {};
};

}  // namespace

struct ProcessGroup::Impl {
  SigpipeIgnored sigpipe;  // first in, last out: covers the store and the backend
  Rendezvous env;
  double timeout_s = 300;
  bool cuda = false;
  c10::intrusive_ptr<c10d::Store> store;
  BackendPtr backend;
  std::shared_ptr<Watch> watch = std::make_shared<Watch>();
  std::thread beat;
  // Reused every step: one single-tensor list per bucket, and the works in flight.
  std::vector<std::vector<at::Tensor>> singles;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;

  std::string store_address() const {
    return env.master_addr + ":" + std::to_string(env.master_port);
  }
  void meet();
  void stop_heartbeat();
  template <typename Launch>
  void run_collective(const std::vector<at::Tensor> &tensors, Launch launch);
};

// Every rank adds itself and waits until the world is complete, so that a missing rank is named
// here rather than inside the backend's own rendezvous.
void ProcessGroup::Impl::meet() {
  store->set("sapnet/joined/" + std::to_string(env.rank), bytes_of("1"));
  store->add("sapnet/joined", 1);
  const auto deadline = Clock::now() + millis(timeout_s);
  while (store->add("sapnet/joined", 0) < env.world_size) {
    if (Clock::now() > deadline) {
      std::string missing;
      std::vector<std::string> one(1);
      for (int r = 0; r < env.world_size; ++r) {
        one[0] = "sapnet/joined/" + std::to_string(r);
        if (!store->check(one)) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      }
      throw Error("distributed training: rank(s) " + missing + " of " +
                  std::to_string(env.world_size) + " did not join within " +
                  seconds_text(timeout_s) + " (rank 0's store at " + store_address() + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ProcessGroup::ProcessGroup(const Rendezvous &env, bool cuda, double timeout_s)
    : impl_(std::make_unique<Impl>()) {
  Impl &d = *impl_;
  d.env = env;
  d.timeout_s = timeout_s;
  d.cuda = cuda;
  try {
    d.store = connect_store(env, env.rank == 0, timeout_s);
  } catch (const std::exception &e) {
    throw Error(
        "distributed training: " + env.who(env.rank) +
        (env.rank == 0 && !env.agent_store ? " cannot listen at " : " cannot reach the store at ") +
        d.store_address() + " within " + seconds_text(timeout_s) + " (" + first_line(e.what()) +
        ")");
  }
  d.meet();
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("pg", d.store);
  try {
    if (cuda) {
#if SAPNET_WITH_CUDA
      // A blocking wait makes a hung peer an exception on this thread after the timeout (instead
      // of NCCL's watchdog tearing the process down), so that it is named like Gloo's.
#if TORCH_VERSION_MAJOR >= 2
      setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
#else
      setenv("NCCL_BLOCKING_WAIT", "1", 0);
#endif
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = millis(timeout_s);
      d.backend =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, env.rank, env.world_size, opts);
#else
      throw Error("this sapnet was built with a CPU-only LibTorch: no NCCL");
#endif
    } else {
      auto opts = c10d::ProcessGroupGloo::Options::create(millis(timeout_s));
      // Loopback stays on loopback; elsewhere GLOO_SOCKET_IFNAME picks the interface, as in
      // PyTorch, or the address this machine's name resolves to.
      const char *ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname && *ifname)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0)
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      d.backend =
          c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, env.rank, env.world_size, opts);
    }
  } catch (const Error &) {
    throw;
  } catch (const std::exception &e) {
    throw Error(std::string("distributed training: ") + (cuda ? "NCCL" : "Gloo") +
                " process group for " + env.who(env.rank) + " failed: " + first_line(e.what()));
  }
  d.watch->beats.assign(env.world_size, -1);
  d.watch->changed.assign(env.world_size, Clock::now());
  d.watch->last_ok = Clock::now();
  d.beat = std::thread(heartbeat, d.watch, env, timeout_s);
}

void ProcessGroup::Impl::stop_heartbeat() {
  if (!beat.joinable()) return;
  std::unique_lock<std::mutex> lock(watch->m);
  watch->stop = true;
  watch->cv.notify_all();
  // A thread stuck on a stopped rank 0's store is left behind (it owns what it uses).
  if (watch->cv.wait_for(lock, std::chrono::seconds(2), [&] { return watch->exited; })) {
    lock.unlock();
    beat.join();
  } else {
    lock.unlock();
    beat.detach();
  }
}

ProcessGroup::~ProcessGroup() {
  impl_->stop_heartbeat();
#if TORCH_VERSION_MAJOR >= 2 && SAPNET_WITH_CUDA
  // NCCL wants its communicators shut down before the process group goes.
  if (impl_->cuda && impl_->backend) try {
      impl_->backend->shutdown();
    } catch (...) {
    }
#endif
}

int ProcessGroup::rank() const {
  return impl_->env.rank;
}
int ProcessGroup::world_size() const {
  return impl_->env.world_size;
}
const Rendezvous &ProcessGroup::env() const {
  return impl_->env;
}
double ProcessGroup::timeout_s() const {
  return impl_->timeout_s;
}
const char *ProcessGroup::backend_name() const {
  return impl_->cuda ? "nccl" : "gloo";
}

template <typename Launch>
void ProcessGroup::Impl::run_collective(const std::vector<at::Tensor> &tensors, Launch launch) {
  if (singles.size() < tensors.size()) singles.resize(tensors.size());
  works.clear();
  for (size_t i = 0; i < tensors.size(); ++i) {
    singles[i].assign(1, tensors[i]);
    works.push_back(launch(singles[i]));
  }
  for (auto &w : works) w->wait();
}

void ProcessGroup::all_reduce_sum(const std::vector<at::Tensor> &tensors) {
  try {
    impl_->run_collective(tensors, [&](std::vector<at::Tensor> &t) {
      return impl_->backend->allreduce(t, c10d::AllreduceOptions());
    });
  } catch (const PeerFailure &) {
    throw;
  } catch (const std::exception &e) {
    throw explain(e);
  }
}

void ProcessGroup::broadcast_from_rank0(const std::vector<at::Tensor> &tensors) {
  c10d::BroadcastOptions opts;
  opts.rootRank = 0;
  try {
    impl_->run_collective(
        tensors, [&](std::vector<at::Tensor> &t) { return impl_->backend->broadcast(t, opts); });
  } catch (const PeerFailure &) {
    throw;
  } catch (const std::exception &e) {
    throw explain(e);
  }
}

void ProcessGroup::share_from_rank0(const std::string &key, std::string &bytes) {
  const std::string k = "sapnet/share/" + key;
  if (rank() == 0) {
    impl_->store->set(k, bytes_of(bytes));
    return;
  }
  wait_for_rank0(k);
  const std::vector<uint8_t> v = impl_->store->get(k);
  bytes.assign(v.begin(), v.end());
}

void ProcessGroup::rank0_reached(const std::string &key) {
  if (rank() == 0) impl_->store->set("sapnet/reached/" + key, bytes_of("1"));
}

void ProcessGroup::wait_for_rank0(const std::string &key) {
  if (rank() == 0) return;
  Impl &d = *impl_;
  Watch &w = *d.watch;
  const std::string k = key.rfind("sapnet/", 0) == 0 ? key : "sapnet/reached/" + key;
  const auto limit = millis(d.timeout_s);
  std::unique_lock<std::mutex> lock(w.m);
  w.watch_key = k, w.key_seen = false;
  for (;;) {
    w.cv.wait_for(lock, kTick);
    if (w.key_seen) break;
    const auto now = Clock::now();
    if (w.failures.count(0)) throw PeerFailure(d.env.who(0) + " failed: " + w.failures[0]);
    if (w.store_gone)
      throw PeerFailure(d.env.who(0) + " stopped answering (its store at " + d.store_address() +
                        " closed)");
    if (now - w.changed[0] > limit || now - w.last_ok > limit)
      throw PeerFailure(d.env.who(0) + " did not answer within " + seconds_text(d.timeout_s));
  }
  w.watch_key.clear();
}

void ProcessGroup::report_failure(const std::string &message) noexcept {
  try {
    Watch &w = *impl_->watch;
    std::unique_lock<std::mutex> lock(w.m);
    if (w.store_gone || w.exited) return;
    w.post_failure = message.empty() ? "failed" : message;
    w.cv.notify_all();
    w.cv.wait_for(lock, 4 * kTick, [&] { return w.failure_posted || w.store_gone; });
    // Rank 0 holds the store: stay a few heartbeats so that the others read why.
    if (rank() == 0 && w.failure_posted) w.cv.wait_for(lock, 5 * kTick, [] { return false; });
  } catch (...) {
  }
}

PeerFailure ProcessGroup::explain(const std::exception &collective_error) {
  Impl &d = *impl_;
  Watch &w = *d.watch;
  const std::string what = first_line(collective_error.what());
  const bool timed_out =
      what.find("imed out") != std::string::npos || what.find("imeout") != std::string::npos;
  // Watch every rank's heartbeat for a while: those that stand still are dead or stopped.
  const auto window = std::max<std::chrono::milliseconds>(
      8 * kTick, std::min<std::chrono::milliseconds>(millis(d.timeout_s), 15 * kTick));
  std::unique_lock<std::mutex> lock(w.m);
  w.observe_all = true;
  const auto start = Clock::now();
  w.cv.wait_until(lock, start + window, [&] { return !w.failures.empty(); });
  if (!w.failures.empty()) {
    auto &[r, msg] = *w.failures.begin();
    return PeerFailure(d.env.who(r) + " failed: " + msg);
  }
  if (w.store_gone || Clock::now() - w.last_ok > window)
    return PeerFailure(d.env.who(0) +
                       (timed_out ? " did not answer within " + seconds_text(d.timeout_s)
                                  : std::string(" stopped answering")) +
                       " (its store at " + d.store_address() + " is gone)");
  std::string stalled;
  int first = -1;
  for (int r = 0; r < d.env.world_size; ++r)
    if (r != d.env.rank && w.changed[r] <= start) {
      stalled += (stalled.empty() ? "" : ", ") + std::to_string(r);
      if (first < 0) first = r;
    }
  if (first >= 0) {
    const std::string who = stalled.find(',') == std::string::npos
                                ? d.env.who(first)
                                : "ranks " + stalled + " of " + std::to_string(d.env.world_size);
    return PeerFailure(who + (timed_out ? " did not answer within " + seconds_text(d.timeout_s)
                                        : " stopped answering (" + what + ")"));
  }
  return PeerFailure("a collective operation failed on " + d.env.who(d.env.rank) + ": " + what);
}

void ProcessGroup::finish() {
  Impl &d = *impl_;
  d.stop_heartbeat();
  try {
    d.store->add("sapnet/finished", 1);
    if (rank() != 0) return;
    const auto deadline = Clock::now() + millis(d.timeout_s);
    while (d.store->add("sapnet/finished", 0) < d.env.world_size && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } catch (const std::exception &) {
    // Leaving: a store that went away has nothing more to tell.
  }
}

}  // namespace sapnet::dist
