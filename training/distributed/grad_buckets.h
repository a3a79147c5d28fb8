// Data-parallel gradient averaging: the gradients live in a few flat buckets (each parameter's
// .grad is a view into one), so that backward accumulates straight into them and each bucket is
// one all-reduce, with no copies and no allocation per step.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "distributed/process_group.h"

namespace sapnet::dist {

class GradientBuckets {
 public:
  // Buckets of at most `bucket_bytes` (a larger parameter gets one of its own) on the parameters'
  // device and dtype. `extras` values ride at the end of the last bucket, averaged with the
  // gradients (the step's loss, its PSNR, stop requests) so that they cost no collective of their
  // own. Throws sapnet::Error for parameters of mixed devices or dtypes.
  GradientBuckets(const std::vector<at::Tensor> &params, double bucket_bytes, int extras = 0);

  // Gradients and extras to zero: stands in for the optimizer's zero_grad(), which in LibTorch 2
  // would drop the views.
  void zero();
  // The extras (a 1-D view into the last bucket).
  const at::Tensor &extras() const { return extras_; }
  // Sums the buckets over the ranks and divides by their number: every rank then holds the mean
  // gradient (the gradient of the global batch when the loss is a per-sample mean).
  void average(Communicator &comm);
  // Rank 0's parameter values to every rank (the buckets serve as the buffer; gradients zeroed).
  void broadcast_parameters(Communicator &comm);
  // Whether this rank's parameters equal rank 0's bit for bit (gradients zeroed).
  bool same_as_rank0(Communicator &comm);

  size_t bucket_count() const { return buckets_.size(); }
  const std::vector<at::Tensor> &buckets() const { return buckets_; }

 private:
  void rebind();  // a gradient something replaced goes back into its bucket
  void params_to_views();

  std::vector<at::Tensor> params_, views_, buckets_;
  at::Tensor extras_;
};

}  // namespace sapnet::dist
