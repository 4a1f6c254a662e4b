// jemalloc's options, compiled into each executable that uses it (the
// custos_allocator CMake target); MALLOC_CONF in the environment still
// overrides them. jemalloc reads this symbol at its first allocation.
//
// - thp:always: jemalloc asks for transparent huge pages (madvise), so the
//   memory it hands out is faulted in 2 MiB at a time instead of 4 KiB.
//   RocksDB's memtable arenas are most of what capture allocates, and every
//   fresh page cost a fault (0.4 per captured event, ~8 % of capture's CPU).
// - percpu_arena:percpu: one arena per CPU instead of four per CPU, so memory
//   freed by one thread (capture allocates on the HTTP threads and frees on
//   the indexer) is reused sooner and fewer huge pages are held part-empty.
// Together: ~20 % more events per second in capture for ~10 % more resident
// memory (docs/benchmarks.md, EPCIS capture, 2026-11-27 morning).
extern "C" {
// The name and type are jemalloc's.
extern const char* malloc_conf;
const char* malloc_conf = "thp:always,percpu_arena:percpu";
}
