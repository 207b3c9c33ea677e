// tasks/distributed on 127.0.0.1: DDP's rules (start from rank 0's weights,
// rank 0's buffers before each forward, mean gradients) and sync-BN checked
// against one process doing the same arithmetic; a lost peer is an error,
// not a hang; world_size 1 does nothing.
//
// Processes: the test binary is its own worker. Spawned with
// RESKIT_DISTRIBUTED_TEST_WORKER set, it runs the worker from a static
// initializer, before gtest or any LibTorch thread pool starts, and exits; a
// fork of a running test would inherit OpenMP's and gtest's state.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "reskit/core/error.h"
#include "reskit/io/atomic_file.h"
#include "reskit/layers/batch_norm.h"
#include "reskit/tasks/distributed.h"
#include "reskit/tasks/seg_loss.h"
#include "reskit/tasks/seg_step.h"
#include "test_util.h"

extern char** environ;

namespace reskit {
namespace {

using namespace std::chrono_literals;
using tasks::DataParallel;
using tasks::DistributedOptions;

constexpr const char* kWorkerVariable = "RESKIT_DISTRIBUTED_TEST_WORKER";

// ---- the training both sides run ---------------------------------------------

// encnet_r50 with every kind of BatchNorm it has (backbone, Encoding's
// BatchNorm1d, cls_seg), narrow so that a step is cheap.
const std::vector<std::string> kModelSets = {"backbone=resnet18", "num_classes=5", "head_channels=64",
                                             "seg_channels=32"};
constexpr int64_t kPerRank = 2, kSteps = 2, kClasses = 5;
constexpr uint64_t kModelSeed = 11, kBatchSeed = 12;
constexpr double kLr = 0.05, kMomentum = 0.9, kSeWeight = 0.2;

struct Batch {
  at::Tensor images, labels;
};

// Both sides train in float64: train-mode BatchNorm on 4 x 4 maps amplifies
// rounding (in float32 the order of a sum moves some parameters by a percent
// of their change), and in float64 that stays far below a wrong gradient.
constexpr at::ScalarType kDtype = at::kDouble;

// No ignored pixels: each shard's cross-entropy is a mean over as many
// pixels as the other's, so the mean of the shards' losses is the batch's.
Batch fixed_batch() {
  torch::manual_seed(kBatchSeed);
  return {at::randn({2 * kPerRank, 3, 32, 32}).to(kDtype),
          at::randint(0, kClasses, {2 * kPerRank, 32, 32}, at::kLong)};
}

Batch shard(const Batch& b, int64_t rank) {
  return {b.images.slice(0, rank * kPerRank, (rank + 1) * kPerRank), b.labels.slice(0, rank * kPerRank, (rank + 1) * kPerRank)};
}

models::Model make_model(uint64_t seed) {
  torch::manual_seed(seed);
  models::Model m = test::build("encnet_r50", kModelSets);
  m.module->to(kDtype);
  m.module->train();
  return m;
}

at::Tensor loss_of(models::Model& m, const Batch& b) {
  return tasks::segmentation_loss(m.forward({b.images}), b.labels, kSeWeight, tasks::SeLoss::kMse).total;
}

torch::optim::SGD make_sgd(models::Model& m) {
  return torch::optim::SGD(m.module->parameters(), torch::optim::SGDOptions(kLr).momentum(kMomentum));
}

// Parameters then buffers, in the module's order, copied.
std::vector<at::Tensor> state_of(const torch::nn::Module& module) {
  std::vector<at::Tensor> state;
  for (const auto& p : module.named_parameters()) state.push_back(p.value().detach().clone());
  for (const auto& b : module.named_buffers()) state.push_back(b.value().clone());
  return state;
}

std::vector<std::string> state_names(const torch::nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& p : module.named_parameters()) names.push_back(p.key());
  for (const auto& b : module.named_buffers()) names.push_back(b.key());
  return names;
}

// ---- the workers --------------------------------------------------------------

using Spec = std::map<std::string, std::string>;

Spec parse_spec(const std::string& text) {
  Spec spec;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      spec["mode"] = item;
    else
      spec[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return spec;
}

DistributedOptions worker_options(const Spec& s) {
  DistributedOptions o;
  o.rank = std::stoll(s.at("rank"));
  o.world_size = 2;
  o.master_port = std::stoi(s.at("port"));
  o.sync_bn = s.count("sync_bn") && s.at("sync_bn") == "1";
  o.timeout = std::chrono::seconds(std::stoi(s.at("timeout")));
  return o;
}

// kSteps of DDP training on this rank's shard; the final state goes to DIR/rankR.pt.
int train_worker(const Spec& s) {
  DistributedOptions o = worker_options(s);
  DataParallel dp(o);
  // Rank 1 starts from other weights: the broadcast must replace them with rank 0's.
  models::Model m = make_model(kModelSeed + static_cast<uint64_t>(o.rank));
  dp.broadcast_parameters_and_buffers(*m.module);
  torch::optim::SGD sgd = make_sgd(m);
  const Batch mine = shard(fixed_batch(), o.rank);
  // train-seg's own step: rank 0's buffers, the forward (sync-BN when asked), averaged gradients, SGD.
  const std::vector<at::Tensor> parameters = m.module->parameters();
  for (int64_t step = 0; step < kSteps; ++step)
    tasks::segmentation_step(m, sgd, parameters, mine.images, mine.labels, kSeWeight, tasks::SeLoss::kMse, &dp);
  dp.broadcast_buffers(*m.module);  // rank 1's buffers become rank 0's, as before a next forward
  io::AtomicFile file(s.at("dir") + "/rank" + s.at("rank") + ".pt");
  torch::save(state_of(*m.module), file.stream());
  file.commit();
  return 0;
}

// All-reduces until a collective fails; DIR/readyR says the group works.
int collectives_worker(const Spec& s) {
  DataParallel dp(worker_options(s));
  at::Tensor t = at::ones({1024});
  for (int64_t i = 0;; ++i) {
    dp.all_reduce_sum(t);
    t.fill_(1);
    if (i == 0) {
      io::AtomicFile ready(s.at("dir") + "/ready" + s.at("rank"));
      ready.stream() << i;
      ready.commit();
    }
    std::this_thread::sleep_for(10ms);
  }
}

// Exit status 0, or 1 with one "reskit: ..." line as the CLI prints it.
int run_worker(const std::string& text) {
  try {
    at::set_num_threads(1);
    const Spec spec = parse_spec(text);
    if (spec.at("mode") == "train") return train_worker(spec);
    if (spec.at("mode") == "collectives") return collectives_worker(spec);
    std::cerr << "unknown worker mode in '" << text << "'\n";
    return 3;
  } catch (const Error& e) {
    std::cerr << "reskit: " << e.what() << std::endl;
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "reskit: " << e.what_without_backtrace() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "reskit: " << e.what() << std::endl;
    return 2;
  }
}

[[maybe_unused]] const bool kIsWorker = [] {
  const char* spec = std::getenv(kWorkerVariable);
  if (!spec) return false;
  const int status = run_worker(spec);
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(status);
}();

// ---- the parent's side --------------------------------------------------------

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t size = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0)
    throw std::runtime_error("no free port");
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Worker {
  pid_t pid = -1;
  std::string out, err;
};

Worker spawn_worker(const std::string& spec, const std::string& dir, const std::string& tag) {
  Worker w;
  w.out = dir + "/" + tag + ".out";
  w.err = dir + "/" + tag + ".err";
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, 1, w.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&files, 2, w.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> env_strings = {std::string(kWorkerVariable) + "=" + spec, "OMP_NUM_THREADS=1"};
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    if (entry.rfind(std::string(kWorkerVariable) + "=", 0) != 0 && entry.rfind("OMP_NUM_THREADS=", 0) != 0)
      env_strings.push_back(entry);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  char* argv[] = {exe.data(), nullptr};
  const int rc = posix_spawn(&w.pid, exe.c_str(), &files, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&files);
  if (rc != 0) throw std::runtime_error("posix_spawn failed");
  return w;
}

// The worker's exit status (128 + signal if killed). One still running after
// `guard` is killed and reported as -1: a guard against a hang, not a timing check.
int wait_worker(Worker& w, std::chrono::seconds guard = 300s) {
  const auto deadline = std::chrono::steady_clock::now() + guard;
  int status = 0;
  while (::waitpid(w.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(w.pid, SIGKILL);
      ::waitpid(w.pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string worker_spec(const std::string& mode, int64_t rank, int port, const std::string& dir, int timeout_s,
                        const std::string& extra = "") {
  return mode + " rank=" + std::to_string(rank) + " port=" + std::to_string(port) + " dir=" + dir +
         " timeout=" + std::to_string(timeout_s) + (extra.empty() ? "" : " " + extra);
}

std::vector<at::Tensor> load_state(const std::string& path) {
  std::vector<at::Tensor> state;
  torch::load(state, path);
  return state;
}

// Both ranks' final states: equal to each other exactly (they took the same
// steps), and their change from the start equal to the reference's to
// float64 tolerance: relative to the change, so that a wrong gradient shows
// at full size, plus rounding of the values themselves (a conv bias before a
// BatchNorm has a zero gradient up to rounding).
void expect_states(const std::string& dir, const std::vector<at::Tensor>& start, const std::vector<at::Tensor>& expected,
                   const std::vector<std::string>& names) {
  const std::vector<at::Tensor> rank0 = load_state(dir + "/rank0.pt"), rank1 = load_state(dir + "/rank1.pt");
  ASSERT_EQ(rank0.size(), expected.size());
  ASSERT_EQ(rank1.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(at::equal(rank0[i], rank1[i])) << names[i] << ": the ranks differ";
    const at::Tensor s = start[i].to(at::kDouble), e = expected[i].to(at::kDouble), a = rank0[i].to(at::kDouble);
    const double change = (e - s).abs().max().item<double>(), scale = e.abs().max().item<double>();
    const double miss = (a - e).abs().max().item<double>(), limit = 1e-6 * change + 1e-12 * scale;
    EXPECT_LE(miss, limit) << names[i] << ": max |change| " << change << ", max |value| " << scale;
  }
}

struct TrainRun {
  std::string dir;
  Worker w0, w1;
};

TrainRun start_training(const std::string& name, bool sync_bn) {
  TrainRun run;
  run.dir = test::temp_dir(name);
  const int port = free_port();
  const std::string extra = std::string("sync_bn=") + (sync_bn ? "1" : "0");
  run.w0 = spawn_worker(worker_spec("train", 0, port, run.dir, 120, extra), run.dir, "rank0");
  run.w1 = spawn_worker(worker_spec("train", 1, port, run.dir, 120, extra), run.dir, "rank1");
  return run;
}

void finish_training(TrainRun& run) {
  const int s0 = wait_worker(run.w0), s1 = wait_worker(run.w1);
  ASSERT_EQ(s0, 0) << test::read_text(run.w0.err);
  ASSERT_EQ(s1, 0) << test::read_text(run.w1.err);
}

TEST(DataParallelProcesses, TwoRanksTakeTheStepsOfOneProcessAveragingBothShardsGradients) {
  TrainRun run = start_training("ddp", false);
  // Meanwhile the reference: per step, each shard's gradients with BatchNorm
  // in training mode on that shard alone, from the same buffers (what each
  // DDP process computes), then their mean.
  models::Model ref = make_model(kModelSeed);
  const std::vector<at::Tensor> start = state_of(*ref.module);
  torch::optim::SGD sgd = make_sgd(ref);
  const Batch batch = fixed_batch();
  std::vector<at::Tensor> params = ref.module->parameters(), buffers = ref.module->buffers();
  for (int64_t step = 0; step < kSteps; ++step) {
    std::vector<at::Tensor> before;
    for (const at::Tensor& b : buffers) before.push_back(b.clone());
    std::vector<at::Tensor> sum(params.size());
    for (int64_t rank : {1, 0}) {  // rank 0 last: its running stats are the ones DDP keeps
      {
        at::NoGradGuard no_grad;
        for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(before[i]);
      }
      sgd.zero_grad();
      loss_of(ref, shard(batch, rank)).backward();
      for (size_t i = 0; i < params.size(); ++i)
        if (params[i].grad().defined()) sum[i] = sum[i].defined() ? sum[i] + params[i].grad() : params[i].grad().clone();
    }
    for (size_t i = 0; i < params.size(); ++i)
      if (sum[i].defined()) params[i].mutable_grad() = sum[i] / 2;
    sgd.step();
  }
  finish_training(run);
  expect_states(run.dir, start, state_of(*ref.module), state_names(*ref.module));
  std::filesystem::remove_all(run.dir);
}

TEST(DataParallelProcesses, TwoRanksWithSyncBatchNormTakeTheStepsOfOneProcessOnTheWholeBatch) {
  TrainRun run = start_training("syncbn", true);
  models::Model ref = make_model(kModelSeed);
  const std::vector<at::Tensor> start = state_of(*ref.module);
  torch::optim::SGD sgd = make_sgd(ref);
  const Batch batch = fixed_batch();
  for (int64_t step = 0; step < kSteps; ++step) {
    sgd.zero_grad();
    loss_of(ref, batch).backward();
    sgd.step();
  }
  finish_training(run);
  expect_states(run.dir, start, state_of(*ref.module), state_names(*ref.module));
  std::filesystem::remove_all(run.dir);
}

struct LostCase {
  std::string id;
  int64_t victim;
  int signal;  // SIGKILL: the peer dies; SIGSTOP: it hangs, and the timeout ends the wait
  std::string name() const { return id; }
};

// The group's timeout in these runs: long enough for both processes to
// start and meet, short enough that the stopped peer's case ends soon.
constexpr int kLostTimeout = 5;

void PrintTo(const LostCase& c, std::ostream* os) { *os << c.id; }

class LostPeer : public ::testing::TestWithParam<LostCase> {};

TEST_P(LostPeer, TheSurvivorExitsWithOneLineNamingTheLostRank) {
  const LostCase& c = GetParam();
  const std::string dir = test::temp_dir("lost_" + c.id);
  const int port = free_port();
  std::vector<Worker> workers = {spawn_worker(worker_spec("collectives", 0, port, dir, kLostTimeout), dir, "rank0"),
                                 spawn_worker(worker_spec("collectives", 1, port, dir, kLostTimeout), dir, "rank1")};
  Worker& victim = workers[static_cast<size_t>(c.victim)];
  Worker& survivor = workers[static_cast<size_t>(1 - c.victim)];
  // Mid-run: both have completed a collective.
  const auto guard = std::chrono::steady_clock::now() + 120s;
  while (!std::filesystem::exists(dir + "/ready0") || !std::filesystem::exists(dir + "/ready1")) {
    int status = 0;
    for (Worker& w : workers)
      ASSERT_EQ(::waitpid(w.pid, &status, WNOHANG), 0) << "a worker ended early: " << test::read_text(w.err);
    ASSERT_LT(std::chrono::steady_clock::now(), guard) << "the group never formed";
    std::this_thread::sleep_for(20ms);
  }
  ::kill(victim.pid, c.signal);
  const int status = wait_worker(survivor, 120s);
  ::kill(victim.pid, SIGKILL);
  wait_worker(victim);

  const std::string err = test::read_text(survivor.err);
  EXPECT_EQ(status, 1) << err;
  std::vector<std::string> lines, reskit_lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      lines.push_back(line);
      if (line.rfind("reskit:", 0) == 0) reskit_lines.push_back(line);
    }
  ASSERT_EQ(reskit_lines.size(), 1u) << err;
  ASSERT_EQ(lines.back(), reskit_lines[0]) << err;
  const std::string& message = reskit_lines[0];
  const std::string head = "reskit: rank " + std::to_string(c.victim) + " lost: ";
  const std::string tail = " (in all-reduce on rank " + std::to_string(1 - c.victim) + ")";
  EXPECT_EQ(message.rfind(head, 0), 0u) << message;
  ASSERT_GE(message.size(), tail.size());
  EXPECT_EQ(message.substr(message.size() - tail.size()), tail) << message;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Cases, LostPeer,
                         ::testing::Values(LostCase{"rank1_killed", 1, SIGKILL}, LostCase{"rank0_killed", 0, SIGKILL},
                                           LostCase{"rank1_stopped", 1, SIGSTOP}),
                         test::CaseName());

// ---- ranks as threads of this process (c10d works the same) -----------------

DistributedOptions thread_options(int64_t rank, int64_t world, int port) {
  DistributedOptions o;
  o.rank = rank;
  o.world_size = world;
  o.master_port = port;
  o.timeout = 60s;  // a guard only: nothing here waits for it
  return o;
}

// fn(rank) on one thread per rank; each rank's reskit::Error message, "" for none.
std::vector<std::string> on_ranks(int64_t world, const std::function<void(int64_t)>& fn) {
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int64_t r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(r);
      } catch (const Error& e) {
        errors[static_cast<size_t>(r)] = e.what();
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = std::string("not a reskit::Error: ") + e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

TEST(DataParallelThreads, SumsAveragesAndBarriers) {
  constexpr int64_t kWorld = 3;
  const int port = free_port();
  struct Seen {
    at::Tensor counts, matrix, all_used, rank0_used, unused_grad;
    bool main = false;
  };
  std::vector<Seen> seen(kWorld);
  const at::Tensor base = at::arange(6, at::kFloat).view({2, 3});
  const std::vector<std::string> errors = on_ranks(kWorld, [&](int64_t r) {
    DistributedOptions o = thread_options(r, kWorld, port);
    o.bucket_cap_mb = 1e-5;  // ~10 bytes: every gradient is a bucket of its own
    DataParallel dp(o);
    Seen& s = seen[static_cast<size_t>(r)];
    s.main = dp.is_main();
    s.counts = at::tensor({r + 1, 10 * (r + 1)}, at::kLong);
    dp.all_reduce_sum(s.counts);
    s.matrix = (base * static_cast<double>(r + 1)).t();  // not contiguous: reduced in place all the same
    dp.all_reduce_sum(s.matrix);
    dp.barrier();
    at::Tensor all_used = at::zeros({4}).requires_grad_(), rank0_used = at::zeros({3}, at::kDouble).requires_grad_(),
               unused = at::zeros({2}).requires_grad_();
    all_used.mutable_grad() = at::full({4}, static_cast<double>(r + 1));
    if (r == 0) rank0_used.mutable_grad() = at::full({3}, 6.0, at::kDouble);
    dp.average_gradients({all_used, rank0_used, unused});
    s.all_used = all_used.grad(), s.rank0_used = rank0_used.grad(), s.unused_grad = unused.grad();
  });
  double rank_sum = 0;
  for (int64_t r = 0; r < kWorld; ++r) rank_sum += static_cast<double>(r + 1);
  for (int64_t r = 0; r < kWorld; ++r) {
    const Seen& s = seen[static_cast<size_t>(r)];
    ASSERT_EQ(errors[static_cast<size_t>(r)], "");
    EXPECT_EQ(s.main, r == 0);
    EXPECT_TRUE(at::equal(s.counts, at::tensor({static_cast<int64_t>(rank_sum), static_cast<int64_t>(10 * rank_sum)}, at::kLong)));
    EXPECT_TRUE(at::equal(s.matrix, (base * rank_sum).t()));
    EXPECT_TRUE(at::equal(s.all_used, at::full({4}, rank_sum / kWorld)));
    // Rank 0's gradient, zeros elsewhere: a gradient on every rank, the mean.
    ASSERT_TRUE(s.rank0_used.defined());
    EXPECT_TRUE(at::equal(s.rank0_used, at::full({3}, 6.0 / kWorld, at::kDouble)));
    EXPECT_FALSE(s.unused_grad.defined()) << "a parameter unused everywhere keeps no gradient";
  }
}

// A Linear and a BatchNorm whose every value says which rank set it.
struct SmallNet : torch::nn::Module {
  explicit SmallNet(int64_t out) {
    lin = register_module("lin", torch::nn::Linear(3, out));
    bn = register_module("bn", layers::BatchNorm1d(out));
  }
  void fill(double v) {
    at::NoGradGuard no_grad;
    for (auto& p : parameters()) p.fill_(v);
    bn->running_mean.fill_(v), bn->running_var.fill_(v + 1), bn->num_batches_tracked.fill_(static_cast<int64_t>(v));
  }
  torch::nn::Linear lin{nullptr};
  layers::BatchNorm1d bn{nullptr};
};

TEST(DataParallelThreads, BroadcastsGiveEveryRankRank0sValues) {
  const int port = free_port();
  std::vector<std::vector<at::Tensor>> after_start(2), after_buffers(2);
  const std::vector<std::string> errors = on_ranks(2, [&](int64_t r) {
    DataParallel dp(thread_options(r, 2, port));
    SmallNet net(4);
    net.fill(static_cast<double>(r + 1));
    dp.broadcast_parameters_and_buffers(net);
    after_start[static_cast<size_t>(r)] = state_of(net);
    if (r == 0) {  // rank 0 moves on; only its buffers must reach rank 1
      at::NoGradGuard no_grad;
      net.lin->weight.fill_(7);
      net.bn->running_mean.fill_(5);
    }
    dp.broadcast_buffers(net);
    after_buffers[static_cast<size_t>(r)] = state_of(net);
  });
  ASSERT_EQ(errors, std::vector<std::string>(2));
  SmallNet rank0(4);
  rank0.fill(1);
  const std::vector<std::string> names = state_names(rank0);
  const std::vector<at::Tensor> expected_start = state_of(rank0);
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_TRUE(at::equal(after_start[1][i], expected_start[i])) << names[i];
    const bool buffer = names[i].rfind("bn.running", 0) == 0 || names[i] == "bn.num_batches_tracked";
    EXPECT_TRUE(at::equal(after_buffers[1][i], buffer ? after_buffers[0][i] : expected_start[i])) << names[i];
  }
}

TEST(DataParallelThreads, DifferentModelsAreAnErrorOnEveryRank) {
  const int port = free_port();
  const std::vector<std::string> errors = on_ranks(2, [&](int64_t r) {
    DataParallel dp(thread_options(r, 2, port));
    SmallNet net(r == 0 ? 4 : 5);
    dp.broadcast_parameters_and_buffers(net);
  });
  const auto size = [](int64_t out) {
    SmallNet net(out);
    int64_t values = 0;
    for (const at::Tensor& t : state_of(net)) values += t.numel();
    return std::to_string(state_of(net).size()) + " parameters and buffers of " + std::to_string(values) + " values";
  };
  EXPECT_EQ(errors[0], "distributed: another rank's model differs from rank 0's (" + size(4) + ")");
  EXPECT_EQ(errors[1], "distributed: rank 1's model differs from rank 0's (" + size(5) + " against " + size(4) + ")");
}

TEST(DataParallelThreads, ARendezvousNobodyServesFailsAfterTheTimeout) {
  const int port = free_port();
  DistributedOptions o = thread_options(1, 2, port);
  o.timeout = 1s;
  try {
    DataParallel dp(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string head = "distributed: rendezvous at 127.0.0.1:" + std::to_string(port) + " failed (rank 1 of 2): ";
    EXPECT_EQ(std::string(e.what()).rfind(head, 0), 0u) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(DataParallelThreads, APortInUseIsAnErrorOnRank0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t size = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size), 0);
  const int port = ntohs(addr.sin_port);
  DistributedOptions o = thread_options(0, 2, port);
  o.timeout = 1s;
  try {
    DataParallel dp(o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string head = "distributed: rendezvous at 127.0.0.1:" + std::to_string(port) + " failed (rank 0 of 2): ";
    EXPECT_EQ(std::string(e.what()).rfind(head, 0), 0u) << e.what();
  }
  ::close(fd);
}

// ---- one process ----------------------------------------------------------------

size_t thread_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

TEST(DataParallelSingle, WorldSizeOneCreatesNothingAndChangesNothing) {
  SmallNet net(4);
  net.fill(3);
  at::Tensor x = at::randn({5, 3});
  net.bn->forward(net.lin->forward(x)).sum().backward();
  const std::vector<at::Tensor> state = state_of(net);
  std::vector<at::Tensor> grads;
  for (const auto& p : net.parameters()) grads.push_back(p.grad().clone());
  const at::Tensor counts = at::arange(5, at::kLong), counts_before = counts.clone();
  const size_t threads = thread_count();

  DistributedOptions o;
  o.sync_bn = true;
  o.master_addr = "no-such-host.invalid";  // would fail if anything tried to reach it
  DataParallel dp(o);
  EXPECT_FALSE(dp.active());
  EXPECT_TRUE(dp.is_main());
  EXPECT_EQ(dp.batch_stats_reducer(), nullptr);
  dp.broadcast_parameters_and_buffers(net);
  dp.broadcast_buffers(net);
  dp.average_gradients(net.parameters());
  dp.all_reduce_sum(counts);
  dp.barrier();
  EXPECT_EQ(thread_count(), threads);
  const std::vector<at::Tensor> after = state_of(net);
  for (size_t i = 0; i < state.size(); ++i) EXPECT_TRUE(at::equal(after[i], state[i]));
  for (size_t i = 0; i < grads.size(); ++i) EXPECT_TRUE(at::equal(net.parameters()[i].grad(), grads[i]));
  EXPECT_TRUE(at::equal(counts, counts_before));
}

// ---- options --------------------------------------------------------------------

// Sets (or with nullptr unsets) environment variables for the scope.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, const char*>& values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value)
        ::setenv(name.c_str(), value, 1);
      else
        ::unsetenv(name.c_str());
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

std::string env_error(const std::map<std::string, const char*>& values) {
  ScopedEnv env(values);
  try {
    tasks::distributed_from_environment();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DistributedOptions, FromTorchrunsEnvironment) {
  {
    ScopedEnv env({{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "1234"}});
    const DistributedOptions o = tasks::distributed_from_environment();
    EXPECT_EQ(o.rank, 1);
    EXPECT_EQ(o.world_size, 4);
    EXPECT_EQ(o.master_addr, "10.0.0.2");
    EXPECT_EQ(o.master_port, 1234);
  }
  {
    ScopedEnv env({{"RANK", nullptr}, {"WORLD_SIZE", nullptr}, {"MASTER_ADDR", nullptr}, {"MASTER_PORT", nullptr}});
    const DistributedOptions o = tasks::distributed_from_environment(), d;
    EXPECT_EQ(o.rank, d.rank);
    EXPECT_EQ(o.world_size, d.world_size);
    EXPECT_EQ(o.master_addr, d.master_addr);
    EXPECT_EQ(o.master_port, d.master_port);
  }
  const std::map<std::string, const char*> none = {
      {"RANK", nullptr}, {"WORLD_SIZE", nullptr}, {"MASTER_ADDR", nullptr}, {"MASTER_PORT", nullptr}};
  auto with = [&](std::map<std::string, const char*> set) {
    std::map<std::string, const char*> all = none;
    for (const auto& [k, v] : set) all[k] = v;
    return env_error(all);
  };
  EXPECT_EQ(with({{"WORLD_SIZE", "two"}, {"RANK", "0"}}), "WORLD_SIZE must be a positive integer, got 'two'");
  EXPECT_EQ(with({{"WORLD_SIZE", "0"}, {"RANK", "0"}}), "WORLD_SIZE must be a positive integer, got '0'");
  EXPECT_EQ(with({{"WORLD_SIZE", "2"}, {"RANK", "2"}}), "RANK must be an integer from 0 to WORLD_SIZE - 1 (1), got '2'");
  EXPECT_EQ(with({{"WORLD_SIZE", "2"}, {"RANK", "-1"}}), "RANK must be an integer from 0 to WORLD_SIZE - 1 (1), got '-1'");
  EXPECT_EQ(with({{"WORLD_SIZE", "2"}}), "WORLD_SIZE is 2 but RANK is not set");
  EXPECT_EQ(with({{"RANK", "0"}}), "RANK is set (0) but WORLD_SIZE is not");
  EXPECT_EQ(with({{"MASTER_PORT", "70000"}}), "MASTER_PORT must be an integer from 1 to 65535, got '70000'");
  EXPECT_EQ(with({{"MASTER_PORT", "29500x"}}), "MASTER_PORT must be an integer from 1 to 65535, got '29500x'");
  EXPECT_EQ(with({{"MASTER_ADDR", ""}}), "MASTER_ADDR is set but empty");
}

TEST(DistributedOptions, MasterAndChecks) {
  DistributedOptions o;
  tasks::set_master(o, "node7:29400");
  EXPECT_EQ(o.master_addr, "node7");
  EXPECT_EQ(o.master_port, 29400);
  tasks::set_master(o, "[::1]:80");
  EXPECT_EQ(o.master_addr, "::1");
  EXPECT_EQ(o.master_port, 80);
  auto master_error = [](const std::string& text) {
    DistributedOptions d;
    try {
      tasks::set_master(d, text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(master_error("node7"), "--master: expected HOST:PORT, got 'node7'");
  EXPECT_EQ(master_error(":29500"), "--master: expected HOST:PORT, got ':29500'");
  EXPECT_EQ(master_error("node7:"), "--master: expected HOST:PORT, got 'node7:'");
  EXPECT_EQ(master_error("node7:0"), "--master: the port must be an integer from 1 to 65535, got '0'");

  auto check_error = [](const std::function<void(DistributedOptions&)>& change) {
    DistributedOptions d;
    change(d);
    try {
      DataParallel dp(d);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(check_error([](DistributedOptions& d) { d.world_size = 0; }), "distributed: world_size must be at least 1, got 0");
  EXPECT_EQ(check_error([](DistributedOptions& d) { d.world_size = 2, d.rank = 2; }),
            "distributed: rank must be from 0 to 1 for world_size 2, got 2");
  EXPECT_EQ(check_error([](DistributedOptions& d) { d.master_port = 0; }),
            "distributed: the master port must be from 1 to 65535, got 0");
  EXPECT_EQ(check_error([](DistributedOptions& d) { d.timeout = 0s; }), "distributed: the timeout must be at least 1 s, got 0");
  EXPECT_EQ(check_error([](DistributedOptions& d) { d.bucket_cap_mb = 0; }),
            "distributed: bucket_cap_mb must be positive, got 0.000000");
}

TEST(DistributedSampler, IsTorchsDistributedSampler) {
  struct Case {
    int64_t n, world;
    bool shuffle;
    uint64_t seed;
    int64_t epoch;
    bool drop_last;
  };
  const std::vector<Case> cases = {{10, 3, false, 0, 0, false}, {10, 3, true, 17, 2, false}, {10, 3, true, 17, 2, true},
                                   {7, 4, true, 0, 5, false},   {2, 4, false, 0, 0, false},  {2, 4, true, 3, 1, true},
                                   {101, 2, true, 123456789, 9, false}};
  std::ostringstream py;
  py << "import json\nfrom torch.utils.data import DistributedSampler\nout = []\n";
  for (const Case& c : cases)
    for (int64_t r = 0; r < c.world; ++r) {
      py << "s = DistributedSampler(range(" << c.n << "), num_replicas=" << c.world << ", rank=" << r
         << ", shuffle=" << (c.shuffle ? "True" : "False") << ", seed=" << c.seed
         << ", drop_last=" << (c.drop_last ? "True" : "False") << ")\ns.set_epoch(" << c.epoch << ")\nout.append(list(s))\n";
    }
  py << "print(json.dumps(out))\n";
  const test::CommandResult result = test::run_python(py.str());
  ASSERT_EQ(result.status, 0) << result.err;
  const nlohmann::json expected = nlohmann::json::parse(result.out);
  size_t k = 0;
  for (const Case& c : cases)
    for (int64_t r = 0; r < c.world; ++r, ++k)
      EXPECT_EQ(nlohmann::json(tasks::distributed_sampler_indices(c.n, r, c.world, c.shuffle, c.seed, c.epoch, c.drop_last)),
                expected.at(k))
          << "n=" << c.n << " world=" << c.world << " rank=" << r;
}

}  // namespace
}  // namespace reskit
