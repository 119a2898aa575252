//! File dialogs. Every button that asks for a file goes through [`Dialogs`], which
//! shows the system dialog (rfd) unless answers were queued: the kittest tests queue
//! the file a dialog would return, then click the button by its label, so the button's
//! whole path runs (the dialog itself cannot run without a desktop portal).

use std::collections::VecDeque;
use std::path::PathBuf;

/// Where file dialogs' answers come from.
#[derive(Debug, Default)]
pub struct Dialogs {
    queued: VecDeque<Option<PathBuf>>,
}

impl Dialogs {
    /// The next dialog returns `answer` (`None`: as if cancelled) without showing itself.
    pub fn queue(&mut self, answer: Option<PathBuf>) {
        self.queued.push_back(answer);
    }

    /// Answers queued and not yet used.
    pub fn pending(&self) -> usize {
        self.queued.len()
    }

    /// A file to write: the queued answer, else the system's save dialog.
    pub fn save_file(&mut self, dialog: rfd::FileDialog) -> Option<PathBuf> {
        self.queued.pop_front().unwrap_or_else(|| dialog.save_file())
    }

    /// A file to read: the queued answer, else the system's open dialog.
    pub fn pick_file(&mut self, dialog: rfd::FileDialog) -> Option<PathBuf> {
        self.queued.pop_front().unwrap_or_else(|| dialog.pick_file())
    }
}
