#include "metrics/detection_metrics.h"

#include <algorithm>
#include <cfloat>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "error.h"

namespace sapnet {
namespace {

using nlohmann::json;

constexpr int kIouCount = 10;      // .50:.05:.95
constexpr int kRecallCount = 101;  // 0:.01:1
constexpr int kAreaCount = 4;      // all, small, medium, large
constexpr int kMaxDetCount = 3;    // 1, 10, 100
constexpr std::array<size_t, kMaxDetCount> kMaxDets = {1, 10, 100};
constexpr std::array<std::array<double, 2>, kAreaCount> kAreaRanges = {
    {{0, 1e10}, {0, 32.0 * 32}, {32.0 * 32, 96.0 * 96}, {96.0 * 96, 1e10}}};
constexpr int kIou50 = 0, kIou75 = 5;

// As numpy.linspace(start, stop, N) computes them, so that thresholds equal COCOeval's bit for bit.
template <int N>
std::array<double, N> linspace(double start, double stop) {
  std::array<double, N> v;
  const double step = (stop - start) / (N - 1);
  for (int i = 0; i < N; ++i) v[i] = i * step + start;
  v[N - 1] = stop;
  return v;
}

const std::array<double, kIouCount> kIouThresholds = linspace<kIouCount>(0.5, 0.95);
const std::array<double, kRecallCount> kRecallThresholds = linspace<kRecallCount>(0.0, 1.0);

// --- JSON reading -------------------------------------------------------------------------------

json parse_json(const std::string &text, const std::string &source) {
  try {
    return json::parse(text);
  } catch (const json::exception &e) {  // parse_error, and out_of_range for a number overflow
    throw Error(source + ": not valid JSON (" + e.what() + ")");
  }
}

std::string read_text(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `where` names the entry, e.g. "gt.json: annotations[3]".
const json &member(const json &entry, const char *key, const std::string &where) {
  if (!entry.is_object()) throw Error(where + ": expected a JSON object");
  auto it = entry.find(key);
  if (it == entry.end()) throw Error(where + ": missing key '" + key + "'");
  return *it;
}

int64_t integer(const json &entry, const char *key, const std::string &where) {
  const json &v = member(entry, key, where);
  if (!v.is_number_integer()) throw Error(where + ": key '" + key + "' is not an integer");
  return v.get<int64_t>();
}

double number(const json &entry, const char *key, const std::string &where) {
  const json &v = member(entry, key, where);
  if (!v.is_number()) throw Error(where + ": key '" + key + "' is not a number");
  return v.get<double>();
}

CocoBox bbox(const json &entry, const std::string &where) {
  const json &v = member(entry, "bbox", where);
  if (!v.is_array() || v.size() != 4 ||
      !std::all_of(v.begin(), v.end(), [](const json &x) { return x.is_number(); }))
    throw Error(where + ": key 'bbox' is not a list of four numbers [x, y, w, h]");
  return {v[0].get<double>(), v[1].get<double>(), v[2].get<double>(), v[3].get<double>()};
}

const json &list(const json &doc, const char *key, const std::string &source) {
  const json &v = member(doc, key, source);
  if (!v.is_array()) throw Error(source + ": key '" + key + "' is not a list");
  return v;
}

std::string entry_name(const std::string &source, const char *list_name, size_t i) {
  return source + ": " + list_name + "[" + std::to_string(i) + "]";
}

void check_detection_images(const std::set<int64_t> &images,
                            const std::vector<CocoDetection> &detections,
                            const std::string &detections_source, const std::string &gt_source) {
  for (size_t i = 0; i < detections.size(); ++i)
    if (!images.count(detections[i].image_id))
      throw Error(detections_source + ": detection " + std::to_string(i) + " has image_id " +
                  std::to_string(detections[i].image_id) + ", which is not an image of " +
                  gt_source);
}

// --- Matching -----------------------------------------------------------------------------------

// IoU of two boxes as pycocotools' bbIou computes it; against a crowd region the union is the
// detection's own area.
double box_iou(const CocoBox &d, const CocoBox &g, bool crowd) {
  const double w = std::min(d.w + d.x, g.w + g.x) - std::max(d.x, g.x);
  if (w <= 0) return 0;
  const double h = std::min(d.h + d.y, g.h + g.y) - std::max(d.y, g.y);
  if (h <= 0) return 0;
  const double inter = w * h, da = d.w * d.h, ga = g.w * g.h;
  return inter / (crowd ? da : da + ga - inter);
}

// The ground truth and detections of one category on one image.
struct Cell {
  std::vector<const CocoGroundTruthBox *> gt;  // file order
  std::vector<const CocoDetection *> dt;       // best score first, at most 100
};

// One image's result for one category and area range.
struct ImageEval {
  std::vector<double> scores;    // of the detections, best first
  std::vector<uint8_t> matched;  // [t * D + d]
  std::vector<uint8_t> ignored;  // [t * D + d]
  size_t counted_gt = 0;         // GT neither crowd nor outside the area range
};

bool outside(double area, int a) {
  return area < kAreaRanges[a][0] || area > kAreaRanges[a][1];
}

ImageEval evaluate_image(const Cell &cell, const std::vector<double> &iou, int a) {
  const size_t G = cell.gt.size(), D = cell.dt.size();
  std::vector<size_t> order(G);  // ignored GT last, otherwise file order
  std::vector<uint8_t> gt_ignored(G);
  for (size_t g = 0; g < G; ++g) {
    order[g] = g;
    gt_ignored[g] = cell.gt[g]->crowd || outside(cell.gt[g]->area, a);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return gt_ignored[x] < gt_ignored[y]; });

  ImageEval e;
  e.counted_gt = std::count(gt_ignored.begin(), gt_ignored.end(), 0);
  e.matched.assign(kIouCount * D, 0);
  e.ignored.assign(kIouCount * D, 0);
  for (const CocoDetection *d : cell.dt) e.scores.push_back(d->score);
  for (int t = 0; t < kIouCount; ++t) {
    std::vector<uint8_t> taken(G, 0);  // by position in `order`
    for (size_t d = 0; d < D; ++d) {
      double best = std::min(kIouThresholds[t], 1 - 1e-10);
      int m = -1;
      for (size_t k = 0; k < G; ++k) {
        const size_t g = order[k];
        if (taken[k] && !cell.gt[g]->crowd) continue;
        // Matched to a counted GT already: ignored GT (all after it) cannot do better.
        if (m > -1 && !gt_ignored[order[m]] && gt_ignored[g]) break;
        if (iou[d * G + g] < best) continue;
        best = iou[d * G + g];
        m = static_cast<int>(k);
      }
      if (m == -1) {
        const CocoBox &b = cell.dt[d]->bbox;
        e.ignored[t * D + d] = outside(b.w * b.h, a);
        continue;
      }
      e.matched[t * D + d] = 1;
      e.ignored[t * D + d] = gt_ignored[order[m]];
      taken[m] = 1;
    }
  }
  return e;
}

// Precision at the recall thresholds and final recall, per IoU threshold, of one category and
// area range over all images; `valid` is false (the -1 of COCOeval) when no GT counts.
struct Curve {
  bool valid = false;
  std::array<double, kIouCount> recall{};
  std::array<std::array<double, kRecallCount>, kIouCount> precision{};
};

Curve accumulate(const std::vector<ImageEval> &evals, size_t max_dets) {
  Curve c;
  size_t counted_gt = 0;
  struct Entry {
    double score;
    const ImageEval *image;
    size_t d;
  };
  std::vector<Entry> entries;
  for (const ImageEval &e : evals) {
    counted_gt += e.counted_gt;
    for (size_t d = 0; d < std::min(max_dets, e.scores.size()); ++d)
      entries.push_back({e.scores[d], &e, d});
  }
  if (counted_gt == 0) return c;
  c.valid = true;
  // Images in id order, each best first; a stable sort keeps that order among equal scores.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry &x, const Entry &y) { return x.score > y.score; });
  const size_t n = entries.size();
  std::vector<double> rc(n), pr(n);
  for (int t = 0; t < kIouCount; ++t) {
    double tp = 0, fp = 0;
    for (size_t i = 0; i < n; ++i) {
      const ImageEval &e = *entries[i].image;
      const size_t at = t * e.scores.size() + entries[i].d;
      if (!e.ignored[at]) (e.matched[at] ? tp : fp) += 1;
      rc[i] = tp / counted_gt;
      pr[i] = tp / (fp + tp + DBL_EPSILON);
    }
    c.recall[t] = n ? rc.back() : 0;
    for (size_t i = n; i-- > 1;) pr[i - 1] = std::max(pr[i - 1], pr[i]);
    for (int r = 0; r < kRecallCount; ++r) {
      const size_t i = std::lower_bound(rc.begin(), rc.end(), kRecallThresholds[r]) - rc.begin();
      c.precision[t][r] = i < n ? pr[i] : 0;
    }
  }
  return c;
}

// Mean of the values that are defined; -1 when none is.
class Mean {
 public:
  void add(double v) {
    sum_ += v;
    ++count_;
  }
  double value() const { return count_ ? static_cast<double>(sum_ / count_) : -1; }

 private:
  long double sum_ = 0;
  size_t count_ = 0;
};

}  // namespace

std::array<double, 12> DetectionSummary::stats() const {
  return {ap,  ap50, ap75,  ap_small, ap_medium, ap_large,
          ar1, ar10, ar100, ar_small, ar_medium, ar_large};
}

CocoGroundTruth parse_coco_ground_truth(const std::string &text, const std::string &source) {
  const json doc = parse_json(text, source);
  if (!doc.is_object()) throw Error(source + ": expected a COCO annotation object");
  CocoGroundTruth gt;
  const json &images = list(doc, "images", source);
  for (size_t i = 0; i < images.size(); ++i)
    gt.image_ids.push_back(integer(images[i], "id", entry_name(source, "images", i)));
  const json &categories = list(doc, "categories", source);
  for (size_t i = 0; i < categories.size(); ++i) {
    const std::string where = entry_name(source, "categories", i);
    CocoCategory c;
    c.id = integer(categories[i], "id", where);
    auto name = categories[i].find("name");
    if (name != categories[i].end() && name->is_string()) c.name = name->get<std::string>();
    gt.categories.push_back(c);
  }
  const json &annotations = list(doc, "annotations", source);
  for (size_t i = 0; i < annotations.size(); ++i) {
    const json &a = annotations[i];
    const std::string where = entry_name(source, "annotations", i);
    CocoGroundTruthBox b;
    b.image_id = integer(a, "image_id", where);
    b.category_id = integer(a, "category_id", where);
    b.bbox = bbox(a, where);
    b.area = number(a, "area", where);
    auto crowd = a.find("iscrowd");
    if (crowd != a.end()) {
      if (crowd->is_boolean())
        b.crowd = crowd->get<bool>();
      else if (crowd->is_number())
        b.crowd = crowd->get<double>() != 0;
      else
        throw Error(where + ": key 'iscrowd' is not 0 or 1");
    }
    gt.boxes.push_back(b);
  }
  return gt;
}

std::vector<CocoDetection> parse_coco_detections(const std::string &text,
                                                 const std::string &source) {
  const json doc = parse_json(text, source);
  if (!doc.is_array())
    throw Error(source + ": expected a COCO results list [{image_id, category_id, bbox, score}]");
  std::vector<CocoDetection> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const std::string where = source + ": detection " + std::to_string(i);
    CocoDetection d;
    d.image_id = integer(doc[i], "image_id", where);
    d.category_id = integer(doc[i], "category_id", where);
    d.bbox = bbox(doc[i], where);
    d.score = number(doc[i], "score", where);
    out.push_back(d);
  }
  return out;
}

CocoGroundTruth read_coco_ground_truth(const std::string &path) {
  return parse_coco_ground_truth(read_text(path), path);
}

std::vector<CocoDetection> read_coco_detections(const std::string &path) {
  return parse_coco_detections(read_text(path), path);
}

DetectionSummary evaluate_detections(const CocoGroundTruth &gt,
                                     const std::vector<CocoDetection> &detections) {
  const std::set<int64_t> images(gt.image_ids.begin(), gt.image_ids.end());
  check_detection_images(images, detections, "detections", "the ground truth");
  std::map<int64_t, std::string> category_names;
  for (const CocoCategory &c : gt.categories) category_names.emplace(c.id, c.name);

  DetectionSummary s;
  s.images = images.size();
  // Keyed by (category, image): iteration visits each category's images in id order.
  std::map<std::pair<int64_t, int64_t>, Cell> cells;
  for (const CocoGroundTruthBox &b : gt.boxes) {
    if (!images.count(b.image_id) || !category_names.count(b.category_id)) continue;
    cells[{b.category_id, b.image_id}].gt.push_back(&b);
    ++s.ground_truths;
  }
  for (const CocoDetection &d : detections) {
    if (!category_names.count(d.category_id)) continue;
    cells[{d.category_id, d.image_id}].dt.push_back(&d);
    ++s.detections;
  }

  const size_t K = category_names.size();
  std::vector<std::array<std::vector<ImageEval>, kAreaCount>> evals(K);
  std::map<int64_t, size_t> category_index;
  for (const auto &[id, name] : category_names) {
    category_index[id] = s.categories.size();
    s.categories.push_back({id, name});
  }
  for (auto &[key, cell] : cells) {
    std::stable_sort(
        cell.dt.begin(), cell.dt.end(),
        [](const CocoDetection *x, const CocoDetection *y) { return x->score > y->score; });
    if (cell.dt.size() > kMaxDets.back()) cell.dt.resize(kMaxDets.back());
    const size_t G = cell.gt.size(), D = cell.dt.size();
    std::vector<double> iou(D * G);
    for (size_t d = 0; d < D; ++d)
      for (size_t g = 0; g < G; ++g)
        iou[d * G + g] = box_iou(cell.dt[d]->bbox, cell.gt[g]->bbox, cell.gt[g]->crowd);
    auto &per_area = evals[category_index[key.first]];
    for (int a = 0; a < kAreaCount; ++a) per_area[a].push_back(evaluate_image(cell, iou, a));
  }

  // [category][area range][max detections]
  std::vector<std::array<std::array<Curve, kMaxDetCount>, kAreaCount>> curves(K);
  for (size_t k = 0; k < K; ++k)
    for (int a = 0; a < kAreaCount; ++a)
      for (int m = 0; m < kMaxDetCount; ++m) curves[k][a][m] = accumulate(evals[k][a], kMaxDets[m]);

  auto mean_precision = [&](int a, int t_only) {
    Mean mean;
    for (size_t k = 0; k < K; ++k) {
      const Curve &c = curves[k][a][kMaxDetCount - 1];
      if (!c.valid) continue;
      for (int t = 0; t < kIouCount; ++t)
        if (t_only < 0 || t == t_only)
          for (double p : c.precision[t]) mean.add(p);
    }
    return mean.value();
  };
  auto mean_recall = [&](int a, int m) {
    Mean mean;
    for (size_t k = 0; k < K; ++k)
      if (curves[k][a][m].valid)
        for (double r : curves[k][a][m].recall) mean.add(r);
    return mean.value();
  };
  s.ap = mean_precision(0, -1);
  s.ap50 = mean_precision(0, kIou50);
  s.ap75 = mean_precision(0, kIou75);
  s.ap_small = mean_precision(1, -1);
  s.ap_medium = mean_precision(2, -1);
  s.ap_large = mean_precision(3, -1);
  s.ar1 = mean_recall(0, 0);
  s.ar10 = mean_recall(0, 1);
  s.ar100 = mean_recall(0, 2);
  s.ar_small = mean_recall(1, 2);
  s.ar_medium = mean_recall(2, 2);
  s.ar_large = mean_recall(3, 2);
  for (size_t k = 0; k < K; ++k) {
    Mean mean;
    const Curve &c = curves[k][0][kMaxDetCount - 1];
    if (c.valid)
      for (const auto &row : c.precision)
        for (double p : row) mean.add(p);
    s.category_ap.push_back(mean.value());
  }
  return s;
}

DetectionSummary evaluate_detection_files(const std::string &annotations_path,
                                          const std::string &detections_path) {
  const CocoGroundTruth gt = read_coco_ground_truth(annotations_path);
  const std::vector<CocoDetection> detections = read_coco_detections(detections_path);
  check_detection_images(std::set<int64_t>(gt.image_ids.begin(), gt.image_ids.end()), detections,
                         detections_path, annotations_path);
  return evaluate_detections(gt, detections);
}

}  // namespace sapnet
