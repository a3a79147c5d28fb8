#include "distributed/grad_buckets.h"

#include <ATen/ATen.h>

#include <string>

namespace sapnet::dist {

GradientBuckets::GradientBuckets(const std::vector<at::Tensor> &params, double bucket_bytes,
                                 int extras)
    : params_(params) {
  if (params_.empty()) throw Error("gradient buckets: no parameters");
  const auto options = params_[0].options();
  const double element = static_cast<double>(params_[0].element_size());
  std::vector<std::pair<size_t, size_t>> spans;  // [first, last) parameter per bucket
  int64_t filled = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor &p = params_[i];
    if (p.device() != params_[0].device() || p.scalar_type() != params_[0].scalar_type())
      throw Error("gradient buckets: parameters on several devices or dtypes");
    if (spans.empty() || (filled > 0 && (filled + p.numel()) * element > bucket_bytes))
      spans.emplace_back(i, i), filled = 0;
    spans.back().second = i + 1;
    filled += p.numel();
  }
  for (size_t b = 0; b < spans.size(); ++b) {
    int64_t n = 0;
    for (size_t i = spans[b].first; i < spans[b].second; ++i) n += params_[i].numel();
    const int64_t extra = b + 1 == spans.size() ? extras : 0;
    at::Tensor bucket = at::zeros({n + extra}, options);
    int64_t offset = 0;
    for (size_t i = spans[b].first; i < spans[b].second; ++i) {
      const int64_t k = params_[i].numel();
      // The parameter's own strides (channels-last included), so that autograd accumulates into
      // the view instead of replacing it with a gradient of the parameter's layout.
      const at::Tensor &p = params_[i];
      if (!p.is_non_overlapping_and_dense())
        throw Error("gradient buckets: a parameter is not dense in memory");
      views_.push_back(bucket.narrow(0, offset, k).as_strided(p.sizes(), p.strides()));
      offset += k;
    }
    if (extra > 0) extras_ = bucket.narrow(0, offset, extra);
    buckets_.push_back(std::move(bucket));
  }
  rebind();
}

void GradientBuckets::rebind() {
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor &grad = params_[i].mutable_grad();
    if (grad.defined() && grad.data_ptr() == views_[i].data_ptr()) continue;
    if (grad.defined())
      views_[i].copy_(grad);
    else
      views_[i].zero_();
    grad = views_[i];
  }
}

void GradientBuckets::zero() {
  for (auto &b : buckets_) b.zero_();
  rebind();
}

void GradientBuckets::average(Communicator &comm) {
  rebind();  // free when nothing replaced a gradient: one pointer comparison per parameter
  if (comm.world_size() == 1) return;
  comm.all_reduce_sum(buckets_);
  const double scale = 1.0 / comm.world_size();
  for (auto &b : buckets_) b.mul_(scale);
}

void GradientBuckets::params_to_views() {
  for (size_t i = 0; i < params_.size(); ++i) views_[i].copy_(params_[i].detach());
}

void GradientBuckets::broadcast_parameters(Communicator &comm) {
  if (comm.world_size() > 1) {
    params_to_views();
    comm.broadcast_from_rank0(buckets_);
    // detach(): the same storage without autograd, so the leaf is written in place.
    for (size_t i = 0; i < params_.size(); ++i) params_[i].detach().copy_(views_[i]);
  }
  zero();
}

bool GradientBuckets::same_as_rank0(Communicator &comm) {
  bool same = true;
  if (comm.world_size() > 1) {
    params_to_views();
    comm.broadcast_from_rank0(buckets_);
    for (size_t i = 0; i < params_.size(); ++i)
      same = same && at::equal(params_[i].detach(), views_[i]);
  }
  zero();
  return same;
}

}  // namespace sapnet::dist
