// Who this process is among the processes of one `sapnet train`: rank, world size, local rank and
// where rank 0's store listens, from the environment a launcher sets (torchrun and Kubernetes'
// PyTorchJob: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK; Slurm's srun: SLURM_*).
// Torch-free.
#pragma once

#include <functional>
#include <string>

namespace sapnet::dist {

struct Rendezvous {
  int rank = 0, world_size = 1;
  int local_rank = 0, local_world_size = 1;  // processes of this run on this machine
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;  // PyTorch's default
  std::string source;       // "torchrun/env", "slurm" or "" (a single process)
  // torchrun's agent already serves the store at MASTER_ADDR:MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE): every rank joins it as a client, under this restart's prefix.
  bool agent_store = false;
  std::string store_prefix;

  bool distributed() const { return world_size > 1; }
  // "rank 1 of 2"
  std::string who(int r) const;
};

// Reads the launcher's variables through `getenv` (std::getenv in the command; a map in tests).
// WORLD_SIZE (with RANK, MASTER_ADDR, MASTER_PORT) wins over Slurm's variables, so that torchrun
// inside a Slurm allocation works. Nothing set: a single process. Throws sapnet::Error naming the
// variable that is missing or malformed.
Rendezvous rendezvous_from_env(const std::function<const char *(const char *)> &getenv);
Rendezvous rendezvous_from_env();

}  // namespace sapnet::dist
