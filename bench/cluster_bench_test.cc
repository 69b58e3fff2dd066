// The cluster workload's pure parts and the JSON line it prints; no process,
// no broker, no clock.
#include "bench/cluster_bench.h"

#include <gtest/gtest.h>

#include <cmath>

#include "bench/bench_report.h"

namespace accountable::bench {
namespace {

using cluster_bench::Ack;

TEST(ClusterBench, PortOfUrl) {
  EXPECT_EQ(cluster_bench::port_of_url("http://127.0.0.1:8081/v1/commands"), 8081);
  EXPECT_EQ(cluster_bench::port_of_url("http://127.0.0.1:65535"), 65535);
  EXPECT_EQ(cluster_bench::port_of_url("https://node-2.example:443/x?y=1:2"), 443);
  EXPECT_EQ(cluster_bench::port_of_url("http://127.0.0.1/v1/commands"), 0);
  EXPECT_EQ(cluster_bench::port_of_url("http://127.0.0.1:/v1"), 0);
  EXPECT_EQ(cluster_bench::port_of_url("http://127.0.0.1:70000/"), 0);
  EXPECT_EQ(cluster_bench::port_of_url(""), 0);
}

TEST(ClusterBench, BrokerCount) {
  EXPECT_EQ(cluster_bench::broker_count("127.0.0.1:9092"), 1u);
  EXPECT_EQ(cluster_bench::broker_count("a:1,b:2,c:3"), 3u);
  EXPECT_EQ(cluster_bench::broker_count("a:1,,b:2,"), 2u);
  EXPECT_EQ(cluster_bench::broker_count(""), 0u);
}

TEST(ClusterBench, FirstAckAfterTheKillFromAnotherNode) {
  const std::vector<Ack> acks = {
      {0.0, 1.0, 9001, false},  // before the kill
      {1.9, 2.1, 9001, false},  // the killed node cannot answer after the kill; ignored if it seems to
      {1.5, 9.5, 9002, true},   // in flight across the kill
      {8.0, 8.7, 9003, false},  // the first from another node
      {9.0, 9.1, 9003, false},
  };
  auto first = cluster_bench::first_ack_after(acks, 2.0, 9001);
  ASSERT_TRUE(first.has_value());
  EXPECT_DOUBLE_EQ(*first, 8.7);
  EXPECT_FALSE(cluster_bench::first_ack_after(acks, 10.0, 9001).has_value());
  EXPECT_FALSE(cluster_bench::first_ack_after({}, 0.0, 9001).has_value());
}

TEST(ClusterBench, WindowCountsWhatArrivedInIt) {
  const std::vector<Ack> acks = {
      {0.5, 0.9, 1, false},    // before
      {0.9, 1.0, 1, false},    // at the start: in
      {1.5, 1.502, 1, true},   // in, redirected
      {2.9, 3.0, 1, false},    // at the end: in
      {2.95, 3.1, 1, false},   // after
  };
  const cluster_bench::Window w = cluster_bench::window(acks, 1.0, 3.0);
  EXPECT_EQ(w.commands, 3u);
  EXPECT_EQ(w.redirected, 1u);
  ASSERT_EQ(w.latencies_us.size(), 3u);
  EXPECT_NEAR(w.latencies_us[0], 100'000, 1e-6);
  EXPECT_EQ(w.direct_us.size(), 2u);
  ASSERT_EQ(w.redirected_us.size(), 1u);
  EXPECT_NEAR(w.redirected_us[0], 2'000, 1e-6);
}

TEST(BenchReport, PercentileByNearestRank) {
  EXPECT_EQ(percentile({}, 0.5), 0);
  EXPECT_EQ(percentile({7}, 0.99), 7);
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  EXPECT_EQ(percentile(v, 0.0), 1);
  EXPECT_EQ(percentile(v, 0.5), 51);  // index round(0.5 x 99) = 50
  EXPECT_EQ(percentile(v, 0.99), 99);
  EXPECT_EQ(percentile(v, 1.0), 100);
}

TEST(BenchReport, JsonLineInOrderAndEscaped) {
  JsonLine line("cluster");
  line.text("figure", "nodes_3").text("bound", "a \"quoted\" \\ path\n").number("x", 1.23456).count("n", 42);
  line.flag("skipped", true).number("nan", std::nan(""));
  EXPECT_EQ(line.str(),
            "{\"system\":\"accountable\",\"workload\":\"cluster\",\"figure\":\"nodes_3\","
            "\"bound\":\"a \\\"quoted\\\" \\\\ path\\n\",\"x\":1.235,\"n\":42,\"skipped\":true,\"nan\":null}");
  EXPECT_EQ(json_quote(std::string("\x01", 1)), "\"\\u0001\"");
}

}  // namespace
}  // namespace accountable::bench
