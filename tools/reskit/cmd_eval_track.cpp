// reskit eval-track: one-pass evaluation (OPE) of the SiamBAN tracker on an
// OTB-layout dataset, as pysot's tools/test.py and tools/eval.py run it.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/core/progress.h"
#include "reskit/tasks/track_dataset.h"
#include "reskit/tasks/track_eval.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/track_plot.h"
#include "reskit/io/opencv/track_frames.h"
#include "reskit/tasks/opencv/tracker.h"
#endif

namespace reskit::cli {

int cmd_eval_track(const Args& argv) {
  ModelCommand command(
      "eval-track", "reskit eval-track [MODEL] --weights W DATASET_DIR",
      "One-pass evaluation of a tracker (default siamban_r50) as pysot's toolkit runs OTB: each sequence tracked "
      "from its first ground-truth box, results written as pysot's OUT/NAME/<sequence>.txt, then the success AUC "
      "(IoU thresholds 0..1) and precision at 20 px per sequence and overall, in OUT/eval.json and as the OTB "
      "success and precision plots (OUT/success_plot.png, OUT/precision_plot.png). DATASET_DIR holds pysot's "
      "dataset JSON (DATASET_DIR/<its name>.json, or the only *.json there) or OTB's folders "
      "(<sequence>/img/ and groundtruth_rect.txt; groundtruth_rect.<k>.txt is the sequence <sequence>-<k>). "
      "A sequence whose result file is complete is not tracked again.",
      {{"out", "DIR", "where results, eval.json and the plots go (default eval-track/<DATASET_DIR's name>)"},
       {"tracker-config", "FILE", "the tracker's config.yaml (default: siamban_r50_l234_otb's OTB100 values)"},
       {"name", "NAME", "the results' folder under --out (default: the weights' file name without extension, as pysot's test.py "
        "names it, or the config's name without weights)"},
       {"format", "text|json", "output format (default text)"},
       ModelCommand::engine_flag(),
       {"quiet", "", "no progress on stderr"}});
  if (!command.parse(argv, 2)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("eval-track: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  std::vector<std::string> dirs;
  const std::string model_name = command.model_before_inputs("siamban_r50", dirs);
  if (dirs.size() != 1) throw Error(dirs.empty() ? "eval-track: no DATASET_DIR given" : "eval-track: one DATASET_DIR at a time");
  const std::string data_dir = dirs[0];
  const std::string format = command.command().choice(args, "format", {"text", "json"});
  const bool quiet = args.has("quiet");
  // The dataset and the config are read before the model is built: a broken one fails at once.
  const tasks::TrackDataset dataset = tasks::open_track_dataset(data_dir);
  const tasks::TrackerConfig config = args.has("tracker-config") ? tasks::read_tracker_config(args.get("tracker-config"))
                                                                 : tasks::tracker_config("siamban_r50_l234_otb");
  // Results are resumed by name: other weights get a folder of their own.
  const std::string name =
      args.get("name", args.has("weights") ? std::filesystem::path(args.get("weights")).stem().string() : config.name);
  const std::string out = args.get("out", (std::filesystem::path("eval-track") / dataset.name).string());

  const tasks::PreparedModel prepared = command.prepare(model_name);
  tasks::Tracker tracker(prepared.model, prepared.device, config, command.engine());
  const size_t count = dataset.sequences.size();
  const auto run = [&](const tasks::TrackSequence& seq, size_t index) {
    Progress progress("eval-track " + seq.name + " (" + std::to_string(index + 1) + "/" + std::to_string(count) + ")",
                      static_cast<int64_t>(seq.frames.size()), progress_style(quiet));
    auto frame = seq.frames.begin() + 1;
    const tasks::NextFrame next = [&]() { return frame == seq.frames.end() ? at::Tensor() : io::read_bgr_image(*frame++); };
    tasks::Trajectory t;
    try {
      t = tasks::track_sequence(tracker, io::read_bgr_image(seq.frames[0]), tasks::init_box(seq.ground_truth[0]), next,
                                progress);
    } catch (const Error& e) {
      throw Error("sequence '" + seq.name + "': " + e.what());
    }
    progress.finish();
    // tools/test.py's line: time in the tracker only; the speed counts the tracked frames, not the first.
    if (!quiet)
      std::fprintf(stderr, "(%3zu) Video: %-12s Time: %5.1fs Speed: %3.1ffps\n", index + 1, seq.name.c_str(), t.seconds,
                   static_cast<double>(seq.frames.size() - 1) / t.seconds);
    return t.boxes;
  };
  const tasks::OpeReport report = tasks::run_ope(dataset, out, name, run, quiet ? nullptr : &std::cerr);

  const std::string success_png = (std::filesystem::path(out) / "success_plot.png").string();
  const std::string precision_png = (std::filesystem::path(out) / "precision_plot.png").string();
  char label[32];
  std::snprintf(label, sizeof label, " [%.3f]", report.auc);
  io::write_curve_plot(success_png, io::success_plot_axes(dataset.name),
                       {{name + label, tasks::overlap_thresholds(), report.success}});
  std::snprintf(label, sizeof label, " [%.3f]", report.precision_20);
  io::write_curve_plot(precision_png, io::precision_plot_axes(dataset.name),
                       {{name + label, tasks::error_thresholds(), report.precision}});

  if (format == "json") {
    std::cout << tasks::report_json(report);
    return 0;
  }
  std::cout << "OPE on " << dataset.name << " (" << count << " sequences" << (dataset.source.empty() ? "" : ", " + dataset.source)
            << ")\n"
            << tasks::report_table(report) << "results: " << (std::filesystem::path(out) / name).string() << "/\n"
            << "report:  " << (std::filesystem::path(out) / "eval.json").string() << '\n'
            << "plots:   " << success_png << ", " << precision_png << '\n';
  return 0;
#endif
}

}  // namespace reskit::cli
