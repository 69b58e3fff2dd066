// is_loopback_address: what `acct serve` may serve plain HTTP on without --plain-http.
#include "server/listen_address.h"

#include <gtest/gtest.h>

namespace accountable {
namespace {

TEST(ListenAddress, LoopbackIsAll127Slash8AndIpv6One) {
  for (const char* a : {"127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_address(a)) << a;
  }
}

TEST(ListenAddress, WildcardsPrivateAndPublicAddressesAreNot) {
  for (const char* a : {"0.0.0.0", "::", "10.0.0.5", "192.168.1.10", "172.16.0.1", "128.0.0.1", "126.255.255.255",
                        "8.8.8.8", "::ffff:10.0.0.1", "fe80::1", "2001:db8::1", "::2"}) {
    EXPECT_FALSE(is_loopback_address(a)) << a;
  }
}

TEST(ListenAddress, WhatIsNotAnAddressIsNotLoopback) {
  for (const char* a : {"", "localhost", "[::1]", "127.0.0.1:8080", "127.0.0"}) {
    EXPECT_FALSE(is_loopback_address(a)) << a;
  }
}

}  // namespace
}  // namespace accountable
