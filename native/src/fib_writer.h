// The FIB writer: kernel routes and policy rules over rtnetlink, from a thread of its own, so that
// programming a million routes never blocks the event loop (the kernel bills each route insert
// to the writer: seconds of system time for a full table).
//
// JS (src/fib) hands over batches of fixed 48-byte records; the thread turns each into one
// rtnetlink message, packs as many messages as fit into one sendmsg(), asks for an ack only on
// the last of each send (the kernel answers every failed message anyway), and collects the
// errors by sequence number. Every record gets a result: 0 or an errno. Jobs run strictly in
// the order they were submitted. Nothing here knows N-API: completions go to a callback that
// napi_fib.cc turns into a thread-safe call into JS.
//
// Record layout (little-endian):
//   0  u8  op         1 route set (create or replace), 2 route delete, 3 rule add, 4 rule delete
//   1  u8  family     4 | 6
//   2  u8  dst_len    route: prefix length; rule: source prefix length (0: any source)
//   3  u8  gw_family  route: 0 none, 4 | 6 (a gateway of the other family goes as RTA_VIA), with
//                     flags kFibPrefsrc (gw holds the preferred source, no gateway) and kFibMtu
//                     (prio holds the route's MTU, the metric is the kernel's default)
//   4  u32 table      route: table; rule: table to look up, 0 = unreachable (FR_ACT_UNREACHABLE)
//   8  u32 oif        route: output ifindex (0: none); rule: suppress_prefixlength + 1 (0: none)
//  12  u32 prio       route: metric (0: kernel default); rule: priority
//  16  [16] dst       route: destination; rule: source prefix
//  32  [16] gw        route: gateway; rule: input interface name, NUL-padded ("" = any)
#pragma once
#include <linux/netlink.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gredge {

constexpr size_t kFibRecord = 48;

enum FibOp : uint8_t { kFibRouteSet = 1, kFibRouteDel = 2, kFibRuleAdd = 3, kFibRuleDel = 4 };
constexpr uint8_t kFibGwMask = 0x0f;
constexpr uint8_t kFibPrefsrc = 0x80;
constexpr uint8_t kFibMtu = 0x40;

struct FibJob {
  enum Kind { kWrite, kDumpRoutes, kDumpRules } kind = kWrite;
  // kWrite: the records in, borrowed from the caller (who keeps them alive and unchanged until
  // the job is handed back); kDump*: `records`, the records found (op 1 or 3).
  const uint8_t* input = nullptr;
  size_t input_len = 0;
  std::vector<uint8_t> records;
  // kWrite: one result per record, 0 or an errno.
  std::vector<int32_t> results;
  // kWrite: the kernel's extended-ack text for the first failure of each errno seen.
  std::vector<std::pair<int32_t, std::string>> messages;
  // kDump*: family (4 | 6) and, for routes, the tables to read (the dump is filtered to our
  // protocol); errno of the dump itself, 0 when complete.
  int family = 4;
  std::vector<uint32_t> tables;
  int error = 0;
  // Opaque to the writer: napi_fib.cc's callback reference.
  void* user = nullptr;
};

class FibWriter {
 public:
  using Done = std::function<void(FibJob*)>;

  // Opens the rtnetlink socket and starts the thread; nullptr with *err on failure.
  static std::unique_ptr<FibWriter> open(uint8_t protocol, Done done, std::string* err);
  ~FibWriter();
  FibWriter(const FibWriter&) = delete;
  FibWriter& operator=(const FibWriter&) = delete;

  // Queues a job; the writer owns it until it hands it to `done` (from its thread).
  void submit(FibJob* job);
  // Finishes the queued jobs, then stops the thread and closes the socket.
  void close();

 private:
  FibWriter(int fd, uint8_t protocol, Done done);
  void run();
  void write(FibJob* job);
  void dump_routes(FibJob* job);
  void dump_rules(FibJob* job);
  // Appends record r as one message at buf+off; returns its length, 0 when it is malformed
  // (the result is then EINVAL without asking the kernel).
  size_t encode(const uint8_t* r, uint8_t* buf, size_t room, uint32_t seq, bool ack) const;
  // Reads replies until the ack of `last` arrives: errors go to results[seq - first].
  int collect(FibJob* job, uint32_t first, uint32_t last, size_t base);
  int dump(FibJob* job, uint16_t type, const void* req, size_t req_len,
           const std::function<void(const nlmsghdr*)>& each);

  int fd_;
  uint8_t protocol_;
  uint32_t seq_ = 1;
  Done done_;
  std::vector<uint8_t> tx_, rx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<FibJob*> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gredge
