//! Host names to dense ids, for the hot loop of the log reader.
//!
//! On a log of millions of rows over 100,000 hosts, looking a host name up
//! is a cache miss per row and was most of the reader's time. So the table
//! is open-addressed with one 64-byte slot per entry that holds the full
//! hash and, for names up to 48 bytes, the name itself: a lookup touches one
//! cache line. The reader computes hashes for a batch of rows first and
//! prefetches their slots a few rows ahead, so several misses are in
//! flight at once instead of one after another.

use std::hash::BuildHasher;

use foldhash::fast::FixedState;

/// Longest name kept inside a slot.
const INLINE: usize = 48;

#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Slot {
    hash: u64,
    /// `u32::MAX` when the slot is empty.
    id: u32,
    len: u32,
    inline: [u8; INLINE],
}

const EMPTY: Slot = Slot { hash: 0, id: u32::MAX, len: 0, inline: [0; INLINE] };

/// Assigns ids 0, 1, 2, … to names in the order first seen.
#[derive(Debug)]
pub struct Interner {
    slots: Vec<Slot>,
    names: Vec<Box<str>>,
    hasher: FixedState,
}

impl Default for Interner {
    fn default() -> Self {
        Self { slots: vec![EMPTY; 1024], names: Vec::new(), hasher: FixedState::with_seed(0x4057_5eed) }
    }
}

impl Interner {
    /// The hash [`Interner::intern_hashed`] and [`Interner::prefetch`] take.
    #[inline]
    pub fn hash(&self, name: &[u8]) -> u64 {
        self.hasher.hash_one(name)
    }

    /// Asks the processor to bring the slot `hash` starts at into cache, so
    /// that a lookup soon after does not wait for memory.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        let mask = self.slots.len() - 1;
        let slot: *const Slot = &self.slots[hash as usize & mask];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is only a hint: it never faults, reads nothing
        // into the program and has no effect on memory; the pointer is to an
        // element of `self.slots` in any case.
        #[allow(unsafe_code)]
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(slot.cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }

    /// The id of `name`, assigning the next one if it is new.
    #[cfg(test)]
    pub fn intern(&mut self, name: &str) -> u32 {
        self.intern_hashed(name.as_bytes(), self.hash(name.as_bytes())).expect("text")
    }

    /// The id of `name`, whose [`Interner::hash`] is `hash`, assigning the
    /// next one if it is new; `None` when a new name is not UTF-8 text (only
    /// new names need checking: every name in the table was checked).
    #[inline]
    pub fn intern_hashed(&mut self, name: &[u8], hash: u64) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = &self.slots[at];
            if slot.id == u32::MAX {
                let text = std::str::from_utf8(name).ok()?;
                return Some(self.insert(at, text, hash));
            }
            if slot.hash == hash && slot.len as usize == name.len() {
                let same = if name.len() <= INLINE {
                    slot.inline[..name.len()] == *name
                } else {
                    *self.names[slot.id as usize].as_bytes() == *name
                };
                if same {
                    return Some(slot.id);
                }
            }
            at = (at + 1) & mask;
        }
    }

    fn insert(&mut self, at: usize, name: &str, hash: u64) -> u32 {
        let id = self.names.len() as u32;
        let mut slot = Slot { hash, id, len: name.len() as u32, inline: [0; INLINE] };
        if name.len() <= INLINE {
            slot.inline[..name.len()].copy_from_slice(name.as_bytes());
        }
        self.slots[at] = slot;
        self.names.push(name.into());
        if self.names.len() * 2 > self.slots.len() {
            self.grow();
        }
        id
    }

    fn grow(&mut self) {
        let doubled = vec![EMPTY; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.id != u32::MAX) {
            let mut at = slot.hash as usize & mask;
            while self.slots[at].id != u32::MAX {
                at = (at + 1) & mask;
            }
            self.slots[at] = slot;
        }
    }

    /// Names by id.
    pub fn names(&self) -> &[Box<str>] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_name_gets_the_same_id_whatever_its_length() {
        let mut interner = Interner::default();
        let long = "a-very-long-host-name-of-more-than-forty-eight-bytes-in-all@example.com";
        let names = ["alice", "bob", "alice\0", long, "", "bob", long, "alice"];
        let ids: Vec<u32> = names.iter().map(|n| interner.intern(n)).collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 4, 1, 3, 0]);
        assert_eq!(&*interner.names()[2], "alice\0");
    }

    #[test]
    fn names_that_are_not_text_get_no_id() {
        let mut interner = Interner::default();
        let bad = b"caf\xE9";
        assert_eq!(interner.intern_hashed(bad, interner.hash(bad)), None);
        assert_eq!(interner.intern("cafe"), 0);
        assert_eq!(interner.intern_hashed(bad, interner.hash(bad)), None);
    }

    #[test]
    fn ids_survive_growth() {
        let mut interner = Interner::default();
        let names: Vec<String> = (0..20_000).map(|i| format!("host{i}@example.com")).collect();
        for (i, n) in names.iter().enumerate() {
            assert_eq!(interner.intern(n), i as u32);
        }
        for (i, n) in names.iter().enumerate().rev() {
            assert_eq!(interner.intern(n), i as u32);
        }
        assert_eq!(interner.names().len(), 20_000);
    }
}
