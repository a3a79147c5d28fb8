// sapnet pack: training patches into one file that `sapnet train --packed` reads without decoders.
#include <cstdio>

#include "commands.h"
#include "data/paired_folder.h"
#include "data/patch_source.h"
#include "error.h"
#include "train/progress.h"

namespace sapnet::cli {

void add_pack(CLI::App &app) {
  struct Args {
    std::vector<std::string> paired, clean;
    std::string out;
    SourceOptions source;
    int video_step = 10;
  };
  auto a = std::make_shared<Args>();
  auto *cmd = app.add_subcommand(
      "pack", "Write training patches to one file (for machines without image decoders)");
  cmd->add_option("--paired", a->paired, "Paired folder(s): patches of (rainy, clean) pairs");
  cmd->add_option("--clean", a->clean,
                  "Clean images, folders or videos: clean patches, rain synthesized when training");
  cmd->add_option("-o,--output", a->out, "Pack file to write")->required();
  cmd->add_option("--patch", a->source.patch, "Patch side")
      ->capture_default_str()
      ->check(CLI::Range(16, 1024));
  cmd->add_option("--stride", a->source.stride, "Grid step")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--video-step", a->video_step, "Use every Nth video frame")
      ->capture_default_str();
  cmd->add_flag("--skip-bad", a->source.skip_bad, "Warn and skip unreadable images");
  cmd->callback([a] {
    if (a->paired.empty() == a->clean.empty()) throw Error("pack: give either --paired or --clean");
    std::unique_ptr<PatchSource> src;
    if (!a->paired.empty()) {
      std::vector<ImagePair> pairs;
      for (auto &d : a->paired) {
        auto p = find_pairs(d);
        pairs.insert(pairs.end(), p.begin(), p.end());
      }
      src = make_paired_source(pairs, a->source);
    } else {
      src = make_synthetic_source(load_clean_images(a->clean, a->video_step, a->source.skip_bad),
                                  a->source, "pack");
    }
    Progress progress("pack", src->size());
    write_pack(a->out, *src, !a->clean.empty(),
               [&](size_t done, size_t) { progress.update(done); });
    progress.finish();
    std::printf("wrote %s: %zu patches of %dx%d (%s)\n", a->out.c_str(), src->size(),
                a->source.patch, a->source.patch,
                a->clean.empty() ? "pairs" : "clean, rain synthesized when training");
  });
}

}  // namespace sapnet::cli
