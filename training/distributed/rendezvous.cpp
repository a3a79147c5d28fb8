#include "distributed/rendezvous.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "error.h"

namespace sapnet::dist {
namespace {

using Getenv = std::function<const char *(const char *)>;

bool present(const Getenv &getenv, const char *name) {
  const char *v = getenv(name);
  return v && *v;
}

// A whole decimal integer in [lo, hi]; anything else names the variable.
int integer(const Getenv &getenv, const char *name, int lo, int hi) {
  const char *v = getenv(name);
  if (!v || !*v) throw Error(std::string("distributed training: ") + name + " is not set");
  char *end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno || *end || x < lo || x > hi)
    throw Error(std::string("distributed training: ") + name + "='" + v +
                "' is not a whole number in " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(x);
}

int integer_or(const Getenv &getenv, const char *name, int lo, int hi, int fallback) {
  return present(getenv, name) ? integer(getenv, name, lo, hi) : fallback;
}

void check_ranks(const Rendezvous &r, const char *rank_name, const char *local_name) {
  if (r.rank >= r.world_size)
    throw Error(std::string("distributed training: ") + rank_name + "=" + std::to_string(r.rank) +
                " but the world has " + std::to_string(r.world_size) + " process(es)");
  if (r.local_rank >= r.local_world_size)
    throw Error(std::string("distributed training: ") + local_name + "=" +
                std::to_string(r.local_rank) + " but this machine runs " +
                std::to_string(r.local_world_size) + " process(es)");
}

}  // namespace

std::string Rendezvous::who(int r) const {
  return "rank " + std::to_string(r) + " of " + std::to_string(world_size);
}

Rendezvous rendezvous_from_env(const Getenv &getenv) {
  constexpr int kMaxWorld = 1 << 20;
  Rendezvous r;
  if (present(getenv, "WORLD_SIZE")) {  // torchrun, PyTorchJob, or any launcher of that kind
    r.source = "torchrun/env";
    r.world_size = integer(getenv, "WORLD_SIZE", 1, kMaxWorld);
    r.rank = integer(getenv, "RANK", 0, kMaxWorld);
    // PyTorchJob runs one process per pod and may leave the local variables unset.
    r.local_rank = integer_or(getenv, "LOCAL_RANK", 0, kMaxWorld, 0);
    r.local_world_size =
        integer_or(getenv, "LOCAL_WORLD_SIZE", 1, kMaxWorld, std::max(1, r.local_rank + 1));
    if (r.world_size > 1) {
      if (!present(getenv, "MASTER_ADDR"))
        throw Error("distributed training: MASTER_ADDR is not set (rank 0's address)");
      r.master_addr = getenv("MASTER_ADDR");
      r.master_port = integer(getenv, "MASTER_PORT", 1, 65535);
    }
    check_ranks(r, "RANK", "LOCAL_RANK");
    const char *agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
    if (agent && std::string(agent) == "True") {
      r.agent_store = true;
      // Keys of an earlier attempt (after an elastic restart) stay apart, as in PyTorch.
      r.store_prefix =
          "/worker/attempt_" +
          std::to_string(integer_or(getenv, "TORCHELASTIC_RESTART_COUNT", 0, kMaxWorld, 0));
    }
  } else if (present(getenv, "SLURM_PROCID") && present(getenv, "SLURM_NTASKS")) {
    r.source = "slurm";
    r.world_size = integer(getenv, "SLURM_NTASKS", 1, kMaxWorld);
    r.rank = integer(getenv, "SLURM_PROCID", 0, kMaxWorld);
    r.local_rank = integer_or(getenv, "SLURM_LOCALID", 0, kMaxWorld, 0);
    // "2" for an even spread; "2(x3)" or "3,2" forms are not one number: fall back to what the
    // local rank proves.
    const char *per_node = getenv("SLURM_NTASKS_PER_NODE");
    char *end = nullptr;
    const long n = per_node ? std::strtol(per_node, &end, 10) : 0;
    r.local_world_size =
        (per_node && *per_node && !*end && n > 0) ? int(n) : std::max(1, r.local_rank + 1);
    if (r.world_size > 1) {
      // srun starts every task from the node it was launched on, where rank 0 runs with the
      // usual block distribution; MASTER_ADDR overrides.
      if (present(getenv, "MASTER_ADDR"))
        r.master_addr = getenv("MASTER_ADDR");
      else if (present(getenv, "SLURM_LAUNCH_NODE_IPADDR"))
        r.master_addr = getenv("SLURM_LAUNCH_NODE_IPADDR");
      else
        throw Error(
            "distributed training: under Slurm, set MASTER_ADDR (SLURM_LAUNCH_NODE_IPADDR is not "
            "set)");
      r.master_port = integer_or(getenv, "MASTER_PORT", 1, 65535, r.master_port);
    }
    check_ranks(r, "SLURM_PROCID", "SLURM_LOCALID");
  }
  return r;
}

Rendezvous rendezvous_from_env() {
  return rendezvous_from_env([](const char *name) { return std::getenv(name); });
}

}  // namespace sapnet::dist
