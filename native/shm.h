// Platform layer: the mapping syscalls, nothing else.
//
// Every function returns a Status; `err` is 0 on success, otherwise the
// positive errno (or, on Windows, a POSIX-like errno translated from
// GetLastError) and `syscall` names the call that failed. Nothing here
// throws and nothing here validates what the JavaScript side already checked
// (names, sizes, ranges); binding.cc turns a Status into a value JS reads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shmnet {

struct Status {
  int err;
  const char* syscall;
};

inline Status Ok() { return Status{0, nullptr}; }

// A file descriptor on POSIX, a HANDLE on Windows.
typedef int64_t Handle;

// shm_open flags.
enum : int { kShmCreate = 1, kShmExclusive = 2, kShmReadOnly = 4 };
// Mapping protection.
enum : int { kProtRead = 0, kProtReadWrite = 1, kProtCopyOnWrite = 2 };
// Mapping flags: what the caller asks for.
enum : int { kMapPopulate = 1, kMapHugeTlb = 2 };
// What a mapping call reports it did for kMapPopulate, in the order
// src/native.ts lists them: nothing, the page tables were filled now
// (MAP_POPULATE, MADV_POPULATE_READ), or read-ahead was only requested
// (MADV_WILLNEED, PrefetchVirtualMemory).
enum : int { kPreloadNone = 0, kPreloadPopulate, kPreloadWillNeed };
// What it did for kMapHugeTlb: nothing, pages from the reserved huge-page
// pool (MAP_HUGETLB, SHM_HUGETLB, SEC_LARGE_PAGES), or transparent huge
// pages were requested (MADV_HUGEPAGE).
enum : int { kHugeNone = 0, kHugeTlb, kHugeTransparent };
// madvise advice, in the order src/native.ts lists them.
enum : int {
  kAdviceNormal = 0,
  kAdviceSequential,
  kAdviceRandom,
  kAdviceWillNeed,
  kAdviceDontNeed,
  kAdviceHugePage,
  kAdviceNoHugePage,
};

size_t PageSize();

// Opens (and with kShmCreate creates) a named shared-memory object. A newly
// created object is sized to `size` and its pages are reserved, so a full
// /dev/shm fails here rather than with SIGBUS on first touch. `created`
// tells whether this call created the object; `actual_size` is its size.
Status ShmOpen(const char* name, int flags, int mode, uint64_t size, Handle* out, uint64_t* actual_size,
               bool* created);
Status ShmUnlink(const char* name);

// The handle behind a file descriptor Node's fs module opened.
Handle FdHandle(int fd);

Status HandleSize(Handle h, uint64_t* size);
Status HandleClose(Handle h);
// Grows a file-backed object and reserves its pages (POSIX only: used after a
// memfd is created).
Status HandleReserve(Handle h, uint64_t size);

// Maps [offset, offset + length) of `h`; offset must be page aligned.
// `preload` and `huge` report what was done for kMapPopulate and
// kMapHugeTlb (kPreload*, kHuge*); asking for either never fails a mapping.
Status MapHandle(Handle h, uint64_t offset, size_t length, int prot, int flags, void** addr, int* preload,
                 int* huge);
Status MapAnonymous(size_t length, int flags, void** addr, int* preload, int* huge);
Status Unmap(void* addr, size_t length);

// Writes dirty pages of [addr, addr + length) back. With a file handle
// (not -1) a synchronous flush also waits for the file's data to reach the
// disk where the view flush alone does not (Windows: FlushFileBuffers).
Status Sync(void* addr, size_t length, bool async, Handle file);

// memmove that survives the mapping disappearing under it: a fault on a
// page that no longer exists (SIGBUS after another process truncated the
// file, EXCEPTION_IN_PAGE_ERROR on Windows) ends the copy and returns
// {EFAULT, "memcpy"} instead of killing the process. Some bytes may have
// been copied. Faults at other addresses are left to whoever handled them
// before (the default: the process dies).
Status GuardedCopy(void* dst, const void* src, size_t length);
Status Advise(void* addr, size_t length, int advice);
Status Lock(void* addr, size_t length);
Status Unlock(void* addr, size_t length);

// System V shared memory (as godcong/mmap's OpenMem uses it). With
// kMapHugeTlb SysvCreate tries SHM_HUGETLB first (`huge` says whether it
// was used); SysvAttach applies kMapPopulate and transparent huge pages as
// MapHandle does.
Status SysvCreate(uint64_t size, int mode, int flags, int* id, int* huge);
Status SysvSize(int id, uint64_t* size);
Status SysvAttach(int id, bool read_only, size_t length, int flags, void** addr, int* preload, int* huge);
Status SysvDetach(void* addr);
Status SysvRemove(int id);

}  // namespace shmnet
