// reskit track: one object through a video, a camera or a directory of
// frames with SiamBAN's tracker; boxes in OTB's text format, frames drawn.
#include <charconv>
#include <cstdio>
#include <iostream>

#include "model_command.h"
#include "reskit/core/error.h"
#include "reskit/core/progress.h"
#include "reskit/io/atomic_file.h"
#include "reskit/tasks/track_eval.h"
#ifdef RESKIT_HAVE_OPENCV
#include "reskit/io/opencv/track_frames.h"
#include "reskit/tasks/opencv/tracker.h"
#endif

namespace reskit::cli {
namespace {

std::array<double, 4> parse_box(const std::string& text) {
  const std::vector<std::string> parts = split_commas(text);
  std::array<double, 4> box{};
  bool ok = parts.size() == 4;
  for (size_t i = 0; ok && i < 4; ++i) {
    const char* end = parts[i].data() + parts[i].size();
    const auto r = std::from_chars(parts[i].data(), end, box[i]);
    ok = r.ec == std::errc() && r.ptr == end;
  }
  if (!ok) throw Error("track: --init '" + text + "' is not x,y,w,h (four numbers, pixels)");
  return box;
}

}  // namespace

int cmd_track(const Args& argv) {
  ModelCommand command(
      "track",
      "reskit track [MODEL] --weights W (--video FILE|CAMERA | --frames DIR) [--init x,y,w,h] [--out boxes.txt] "
      "[--render OUT.mp4|DIR] [--tracker-config FILE]",
      "One object through a video, a camera or a directory of frames (name order) with SiamBAN's tracker (default "
      "siamban_r50). The first frame's box comes from --init or is drawn with the mouse; each later frame's box is "
      "the best of 25x25 candidates around the last one, scale and ratio changes penalised, a cosine window "
      "favouring small moves.",
      {{"video", "FILE|CAMERA", "a video file, or a camera's index (0)"},
       {"frames", "DIR", "the images of a directory, in name order"},
       {"init", "x,y,w,h", "the target in the first frame, pixels (default: draw it, where a display is)"},
       {"out", "FILE", "the boxes, one x,y,w,h line per frame (OTB's format; the first is the init box)"},
       {"render", "OUT.mp4|DIR", "the frames with the box drawn: a video (.mp4, .avi, .mkv, .mov) or PNGs in DIR"},
       {"tracker-config", "FILE",
        "the tracker's settings: an official config.yaml (or JSON) (default: siamban_r50_l234's, VOT2018's "
        "values; siamban_r50_l234_otb's are for OTB)"},
       {"max-frames", "N", "stop after N frames (default: all)"},
       ModelCommand::engine_flag(),
       {"quiet", "", "no progress on stderr"}});
  if (!command.parse(argv)) return 0;
  const ParsedArgs& args = command.args();
#ifndef RESKIT_HAVE_OPENCV
  throw Error("track: this build of reskit has no OpenCV (configure with -DRESKIT_WITH_OPENCV=ON)");
#else
  const tasks::Engine engine = command.engine();
  if (args.has("video") == args.has("frames")) throw Error("track: give one of --video FILE|CAMERA and --frames DIR");
  const int64_t max_frames = args.get_int("max-frames", 0);
  if (max_frames < 0) throw Error("track: --max-frames must be 0 (all) or more");
  std::array<double, 4> init{};
  if (args.has("init")) init = parse_box(args.get("init"));
  const tasks::TrackerConfig config = args.has("tracker-config")
                                          ? tasks::read_tracker_config(args.get("tracker-config"))
                                          : tasks::tracker_config("siamban_r50_l234");

  // Every input is checked before the model is built: a typo fails at once.
  io::FrameSource source = args.has("frames") ? io::FrameSource::open(args.get("frames"), true)
                                              : io::FrameSource::open(args.get("video"), false);
  const at::Tensor first = source.next();
  if (!first.defined()) throw Error("track: '" + source.name() + "' has no frames");
  if (!args.has("init")) {
    if (!io::can_show_windows())
      throw Error("track: no --init x,y,w,h and no display to draw the box on");
    init = io::select_box(first, "reskit track: drag a box around the target, then press Enter");
  }
  std::vector<std::string> rest;
  const std::string model_name = command.model_before_inputs("siamban_r50", rest);
  if (!rest.empty()) throw Error("track: unexpected argument '" + rest[0] + "' (frames come with --video or --frames)");
  if (!args.has("weights"))
    std::cerr << "track: no --weights: the model keeps its seeded random weights, and the boxes mean nothing\n";
  const tasks::PreparedModel prepared = command.prepare(model_name);
  tasks::Tracker tracker(prepared.model, prepared.device, config, engine);

  // The outputs are opened before the work: a missing directory fails at once.
  std::unique_ptr<io::AtomicFile> boxes_file;
  if (args.has("out")) boxes_file = std::make_unique<io::AtomicFile>(args.get("out"));
  std::unique_ptr<io::BoxRenderer> renderer;
  if (args.has("render")) renderer = std::make_unique<io::BoxRenderer>(args.get("render"), source.fps());
  int64_t remaining = max_frames ? max_frames - 1 : -1;
  const tasks::NextFrame next = [&]() -> at::Tensor {
    if (remaining == 0) return {};
    if (remaining > 0) --remaining;
    return source.next();
  };
  int64_t total = source.frame_count();
  if (max_frames && (total < 0 || total > max_frames)) total = max_frames;
  Progress progress("track", std::max<int64_t>(total, 0), progress_style(args.has("quiet")));
  const tasks::OnFrame draw = [&](int64_t index, const at::Tensor& image, const tasks::TrackBox& box, double score) {
    if (!renderer) return;
    char caption[96];
    std::snprintf(caption, sizeof caption, "#%lld  score %.3f", static_cast<long long>(index + 1), score);
    renderer->add(image, {box.x, box.y, box.w, box.h}, caption);
  };
  const tasks::Trajectory t =
      tasks::track_sequence(tracker, first, {init[0], init[1], init[2], init[3]}, next, progress, draw);
  progress.finish();

  if (renderer) renderer->commit();
  if (boxes_file) {
    boxes_file->stream() << tasks::format_result(t.boxes);
    boxes_file->commit();
  }
  const tasks::TrackBox& last = t.boxes.back();
  char line[256];
  std::snprintf(line, sizeof line, "%zu frames in %.2f s: %.1f fps (init and track, without decoding%s)\n",
                t.boxes.size(), t.seconds, t.fps(), renderer ? " and drawing" : "");
  std::cout << line;
  std::snprintf(line, sizeof line, "last box: %.1f,%.1f,%.1f,%.1f (score %.3f)\n", last.x, last.y, last.w, last.h,
                t.scores.back());
  std::cout << line;
  if (args.has("out")) std::cout << "boxes: " << args.get("out") << '\n';
  if (renderer) std::cout << "rendered: " << args.get("render") << '\n';
  return 0;
#endif
}

}  // namespace reskit::cli
