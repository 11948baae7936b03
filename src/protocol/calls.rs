//! Open tool calls, a queue per tool name.
//!
//! Tool calls carry no id: a `completed`/`failed` closes the oldest open
//! `started` of the same tool. A queue per name makes that O(1) whatever
//! the number of open calls (a single list searched by name is quadratic
//! when many calls are open). The validator and the fold both keep one.

use std::collections::{HashMap, VecDeque};

use crate::sse::Utf8Bytes;

/// Calls started and not yet closed, each with what its keeper needs of it.
#[derive(Clone, Debug)]
pub(crate) struct OpenCalls<T> {
    by_tool: HashMap<Utf8Bytes, VecDeque<T>>,
    len: usize,
}

impl<T> Default for OpenCalls<T> {
    fn default() -> Self {
        OpenCalls {
            by_tool: HashMap::new(),
            len: 0,
        }
    }
}

impl<T> OpenCalls<T> {
    /// A call of `tool` starts.
    pub(crate) fn open(&mut self, tool: Utf8Bytes, call: T) {
        self.by_tool.entry(tool).or_default().push_back(call);
        self.len += 1;
    }

    /// Closes the oldest open call of `tool`, `None` when there is none.
    pub(crate) fn close(&mut self, tool: &str) -> Option<T> {
        let queue = self.by_tool.get_mut(tool)?;
        let oldest = queue.pop_front();
        if queue.is_empty() {
            self.by_tool.remove(tool);
        }
        self.len -= usize::from(oldest.is_some());
        oldest
    }

    /// How many calls are open.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every open call with its tool, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Utf8Bytes, &T)> {
        self.by_tool
            .iter()
            .flat_map(|(tool, calls)| calls.iter().map(move |call| (tool, call)))
    }

    /// Every open call with its tool, emptying the set, in no particular order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (Utf8Bytes, T)> + '_ {
        self.len = 0;
        self.by_tool
            .drain()
            .flat_map(|(tool, calls)| calls.into_iter().map(move |call| (tool.clone(), call)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_call_of_a_tool_closes_first() {
        let mut calls = OpenCalls::default();
        for (i, tool) in ["a", "b", "a"].into_iter().enumerate() {
            calls.open(Utf8Bytes::from(tool), i);
        }
        assert_eq!(calls.len(), 3);
        assert_eq!(calls.close("a"), Some(0));
        assert_eq!(calls.close("c"), None);
        assert_eq!(calls.len(), 2);
        let mut rest: Vec<_> = calls.drain().map(|(t, i)| (t.to_string(), i)).collect();
        rest.sort();
        assert_eq!(rest, [("a".to_owned(), 2), ("b".to_owned(), 1)]);
        assert_eq!(calls.len(), 0);
        assert_eq!(calls.close("a"), None);
    }
}
