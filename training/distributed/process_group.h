// The processes of one data-parallel `sapnet train`: rank 0's TCP store, a Gloo (CPU) or NCCL
// (CUDA) process group, and a heartbeat through the store, so that when a rank dies or hangs the
// others stop with a message that names it. LibTorch's c10d stays behind a pimpl.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "distributed/rendezvous.h"
#include "error.h"

namespace sapnet::dist {

// Another rank failed, died or stopped answering; what() names it ("rank 1 of 2 did not answer
// within 5 s").
class PeerFailure : public Error {
 public:
  using Error::Error;
};

// The collectives the gradient buckets need: the process group implements them, tests fake them.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Sums every tensor over the ranks, in place (each tensor its own all-reduce, all in flight at
  // once). Throws PeerFailure when another rank fails.
  virtual void all_reduce_sum(const std::vector<at::Tensor> &tensors) = 0;
  // Rank 0's values to every rank, in place.
  virtual void broadcast_from_rank0(const std::vector<at::Tensor> &tensors) = 0;
};

class ProcessGroup : public Communicator {
 public:
  // Meets the other ranks through rank 0's store (MASTER_ADDR:MASTER_PORT), then builds Gloo's
  // process group (cuda = false) or NCCL's (cuda = true; one GPU per local rank). `timeout_s`
  // bounds the meeting and every wait on another rank. Throws sapnet::Error naming what failed.
  ProcessGroup(const Rendezvous &env, bool cuda, double timeout_s);
  ~ProcessGroup() override;
  ProcessGroup(const ProcessGroup &) = delete;
  ProcessGroup &operator=(const ProcessGroup &) = delete;

  int rank() const override;
  int world_size() const override;
  const Rendezvous &env() const;
  double timeout_s() const;
  const char *backend_name() const;  // "gloo" or "nccl"

  void all_reduce_sum(const std::vector<at::Tensor> &tensors) override;
  void broadcast_from_rank0(const std::vector<at::Tensor> &tensors) override;

  // Rank 0's bytes on every rank (through the store: checkpoints, run.json); `bytes` is read on
  // rank 0 and replaced on the others.
  void share_from_rank0(const std::string &key, std::string &bytes);
  // Rank 0 marks `key` reached (after work only it does: validation, checkpoints); the others wait
  // for it for as long as rank 0 is alive, however long that work takes.
  void rank0_reached(const std::string &key);
  void wait_for_rank0(const std::string &key);
  // Lets the others know why this rank stops, before it exits.
  void report_failure(const std::string &message) noexcept;
  // The peer failure behind a failed collective, named.
  PeerFailure explain(const std::exception &collective_error);
  // Every rank calls this at the end; rank 0 keeps its store up until every rank has left it.
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sapnet::dist
