/* docs.c - see docs.h. */
#include "docs.h"

#include <stdint.h>
#include <stdio.h>

const char *const bd_fields[BD_FIELDS] = {"email", "age", "city", "group", "kind"};

void bd_key(char buf[16], size_t i)
{
    /* 4194303 is prime to 10, so this is a bijection of [0, 10^7) */
    snprintf(buf, 16, "u%07llu", (unsigned long long)(((uint64_t)i * 4194303u) % 10000000u));
}

size_t bd_pick(size_t i, size_t n)
{
    uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull + 88172645463325252ull;
    x ^= x >> 29;
    return (size_t)(x % n);
}

void bd_group(char buf[16], size_t g)
{
    snprintf(buf, 16, "g%05u", (unsigned)(g % 100000));
}

json_t *bd_make(size_t i, const char *kind)
{
    char name[32], email[64], city[32], group[16];
    snprintf(name, sizeof name, "User %zu", i);
    snprintf(email, sizeof email, "user%zu@example.com", i);
    snprintf(city, sizeof city, "city-%03zu", (i * 7) % 200);
    bd_group(group, i / BD_GROUP_SIZE);
    return json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:f,s:b,s:s}", "name", name, "email", email, "age",
                     (int)(18 + (i * 13) % 70), "city", city, "group", group, "kind",
                     kind ? kind : "user", "score", (double)(i % 1000) / 8.0, "active",
                     (int)(i % 3 != 0), "bio",
                     "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do "
                     "eiusmod tempor incididunt ut labore et dolore magna aliqua.");
}
