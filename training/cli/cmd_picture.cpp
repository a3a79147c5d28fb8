// sapnet picture: rainy | derained crops of a few images, one row each, in one PNG (the model
// card's figure). Each image is derained whole, so that the crop sees the context it would in use.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "data/image.h"
#include "data/picture_grid.h"
#include "error.h"
#include "model_options.h"
#include "train/progress.h"

namespace fs = std::filesystem;

namespace sapnet::cli {
namespace {

struct PictureArgs {
  ModelOptions model;
  std::vector<std::string> inputs;  // FILE or FILE@X,Y
  std::vector<std::string> titles;
  std::vector<int> exits;
  std::string crop = "240x160";
  std::string output;
};

struct Input {
  std::string path;
  int x = -1, y = -1;  // crop corner; -1 = centred
};

Input parse_input(const std::string &arg) {
  Input in{arg};
  const auto at = arg.rfind('@');
  if (at == std::string::npos || fs::exists(arg)) return in;
  int x, y;
  char end;
  if (std::sscanf(arg.c_str() + at + 1, "%d,%d%c", &x, &y, &end) != 2 || x < 0 || y < 0)
    throw Error(arg + ": expected FILE or FILE@X,Y (the crop's top-left corner)");
  return {arg.substr(0, at), x, y};
}

// "Rain100L/1.png" for ../shared/data/Rain100L/input/1.png: the nearest folder that names a set.
std::string default_title(const std::string &path) {
  const fs::path p(path);
  for (fs::path dir = p.parent_path(); !dir.empty() && dir != dir.parent_path();
       dir = dir.parent_path()) {
    const std::string name = dir.filename().string();
    if (name != "input" && name != "rainy" && name != "rain" && name != "frames" && name != "." &&
        name != "..")
      return name + "/" + p.filename().string();
  }
  return p.filename().string();
}

void run_picture(const PictureArgs &args) {
  int crop_w = 0, crop_h = 0;
  char end;
  if (std::sscanf(args.crop.c_str(), "%dx%d%c", &crop_w, &crop_h, &end) != 2 || crop_w < 16 ||
      crop_h < 16)
    throw Error("--crop " + args.crop + ": expected WIDTHxHEIGHT, each at least 16");
  if (!args.titles.empty() && args.titles.size() != args.inputs.size())
    throw Error("--titles: give one title per image (" + std::to_string(args.inputs.size()) +
                "), or none");
  if (!image_io_available()) throw Error("sapnet picture needs a build with OpenCV");
  std::vector<Input> inputs;
  for (const auto &arg : args.inputs) inputs.push_back(parse_input(arg));

  auto engine = args.model.make_engine();
  const int all = engine->network().stages;
  std::vector<int> exits = args.exits;
  if (exits.empty()) exits.push_back(engine->stages() ? engine->stages() : all);
  for (int e : exits)
    if (e < 1 || e > all)
      throw Error("--exits " + std::to_string(e) + ": this model has stages 1 to " +
                  std::to_string(all));

  PictureGrid grid;
  grid.column_titles.push_back("rainy");
  for (int e : exits)
    grid.column_titles.push_back(exits.size() == 1 && e == all
                                     ? "derained"
                                     : "derained, " + std::to_string(e) + " of " +
                                           std::to_string(all) + " stages");
  Progress progress("picture", inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const RgbImage rainy = read_image(inputs[i].path);
    std::vector<RgbImage> row;
    try {
      row.push_back(crop_image(rainy, inputs[i].x, inputs[i].y, crop_w, crop_h));
    } catch (const Error &e) {
      throw Error(inputs[i].path + ": " + e.what());
    }
    for (int e : exits) {
      RgbImage derained(rainy.width, rainy.height);
      engine->set_stages(e);
      engine->process(rainy.view(), derained.view());
      row.push_back(crop_image(derained, inputs[i].x, inputs[i].y, crop_w, crop_h));
    }
    grid.rows.push_back(std::move(row));
    grid.row_titles.push_back(args.titles.empty() ? default_title(inputs[i].path) : args.titles[i]);
    progress.update(i + 1);
  }
  progress.finish();
  const RgbImage picture = compose_picture(grid);
  write_image(args.output, picture);
  std::printf("wrote %s (%dx%d: %zu rows, %zu columns)\n", args.output.c_str(), picture.width,
              picture.height, grid.rows.size(), grid.column_titles.size());
}

}  // namespace

void add_picture(CLI::App &app) {
  auto args = std::make_shared<PictureArgs>();
  auto *cmd = app.add_subcommand(
      "picture", "Rainy | derained crops of images, one row each, in one picture (PNG)");
  cmd->add_option("inputs", args->inputs, "Images; FILE@X,Y crops at (X, Y) instead of the centre")
      ->required();
  cmd->add_option("-o,--output", args->output, "Picture to write (PNG, or JPEG by extension)")
      ->required();
  cmd->add_option("--crop", args->crop, "Crop of each image, WIDTHxHEIGHT")->capture_default_str();
  cmd->add_option("--exits", args->exits,
                  "Stage counts to show, one column each (default: --stages, else all)");
  cmd->add_option("--titles", args->titles,
                  "Row titles, one per image (default: the set's folder and the file name)");
  args->model.add_to(*cmd);
  cmd->callback([args] { run_picture(*args); });
}

}  // namespace sapnet::cli
