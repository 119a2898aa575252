//! The editor: a document, its indexes and the undo/redo history.

use serde::{Deserialize, Serialize};

use super::document::Document;
use super::edit::{Command, EditError};
use super::index::Index;

/// One step of the history as the journal records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum HistoryStep {
    /// A new command was executed (the redo stack is cleared).
    Do(Command),
    /// The last command was undone.
    Undo,
    /// The last undone command was redone.
    Redo,
    /// The undo/redo stacks as they were at the last save (the saved document has the
    /// `done` commands applied): the first row after a save, so undo reaches past it.
    Base {
        /// Undo stack, oldest first.
        done: Vec<Command>,
        /// Redo stack, next redo last.
        undone: Vec<Command>,
    },
}

/// Applies commands atomically, keeps indexes current, and holds undo/redo stacks.
///
/// Undo is a command log, not snapshots: each command stores its edits with the
/// state before and after, so undoing applies the inverse edits.
#[derive(Debug, Default)]
pub struct Editor {
    doc: Document,
    index: Index,
    done: Vec<Command>,
    undone: Vec<Command>,
    /// Steps not yet written to the journal (taken by the autosave).
    unjournaled: Vec<HistoryStep>,
    /// Steps since the last save (0 = the document equals the saved file).
    dirty: usize,
}

impl Editor {
    /// An editor over a document (history empty).
    pub fn new(doc: Document) -> Self {
        let index = Index::build(&doc);
        Self { doc, index, ..Self::default() }
    }

    /// The document.
    pub fn doc(&self) -> &Document {
        &self.doc
    }

    /// The indexes.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Apply a command as one undoable step.
    pub fn execute(&mut self, cmd: Command) -> Result<(), EditError> {
        if cmd.is_empty() {
            return Ok(());
        }
        self.apply(&cmd)?;
        self.undone.clear();
        self.unjournaled.push(HistoryStep::Do(cmd.clone()));
        self.done.push(cmd);
        self.dirty += 1;
        Ok(())
    }

    /// Undo the last command; `false` when there is nothing to undo.
    pub fn undo(&mut self) -> Result<bool, EditError> {
        let Some(cmd) = self.done.pop() else { return Ok(false) };
        if let Err(e) = self.apply(&cmd.inverse()) {
            self.done.push(cmd);
            return Err(e);
        }
        self.undone.push(cmd);
        self.unjournaled.push(HistoryStep::Undo);
        self.dirty += 1;
        Ok(true)
    }

    /// Redo the last undone command; `false` when there is nothing to redo.
    pub fn redo(&mut self) -> Result<bool, EditError> {
        let Some(cmd) = self.undone.pop() else { return Ok(false) };
        if let Err(e) = self.apply(&cmd) {
            self.undone.push(cmd);
            return Err(e);
        }
        self.done.push(cmd);
        self.unjournaled.push(HistoryStep::Redo);
        self.dirty += 1;
        Ok(true)
    }

    /// Replay a journal step (recovery): like the user doing it again.
    pub fn replay(&mut self, step: HistoryStep) -> Result<(), EditError> {
        match step {
            HistoryStep::Do(cmd) => self.execute(cmd),
            HistoryStep::Undo => match self.undo()? {
                true => Ok(()),
                false => Err(EditError::Invalid("journal: an undo with nothing to undo".into())),
            },
            HistoryStep::Redo => match self.redo()? {
                true => Ok(()),
                false => Err(EditError::Invalid("journal: a redo with nothing to redo".into())),
            },
            HistoryStep::Base { done, undone } => {
                self.done = done;
                self.undone = undone;
                Ok(())
            }
        }
    }

    /// Apply all edits of a command, or none: on a failing edit the applied ones are undone.
    fn apply(&mut self, cmd: &Command) -> Result<(), EditError> {
        for (k, edit) in cmd.edits.iter().enumerate() {
            if let Err(e) = edit.apply(&mut self.doc) {
                for done in cmd.edits[..k].iter().rev() {
                    let inv = done.inverse();
                    // The inverse of an edit just applied always fits.
                    if inv.apply(&mut self.doc).is_ok() {
                        self.index.after_edit(&self.doc, &inv);
                    }
                }
                return Err(e);
            }
            self.index.after_edit(&self.doc, edit);
        }
        Ok(())
    }

    /// Labels of the undo stack, oldest first.
    pub fn done(&self) -> &[Command] {
        &self.done
    }

    /// Labels of the redo stack, next redo last.
    pub fn undone(&self) -> &[Command] {
        &self.undone
    }

    /// Whether there is anything to undo / redo.
    pub fn can_undo(&self) -> bool {
        !self.done.is_empty()
    }

    /// Whether there is anything to redo.
    pub fn can_redo(&self) -> bool {
        !self.undone.is_empty()
    }

    /// Steps made since the last [`Editor::take_unjournaled`].
    pub fn take_unjournaled(&mut self) -> Vec<HistoryStep> {
        std::mem::take(&mut self.unjournaled)
    }

    /// Put steps back (the journal write failed; they are retried at the next autosave).
    pub fn restore_unjournaled(&mut self, mut steps: Vec<HistoryStep>) {
        steps.append(&mut self.unjournaled);
        self.unjournaled = steps;
    }

    /// Whether there are steps the journal does not have yet.
    pub fn has_unjournaled(&self) -> bool {
        !self.unjournaled.is_empty()
    }

    /// Whether the document differs from the last save.
    pub fn is_dirty(&self) -> bool {
        self.dirty > 0
    }

    /// The history to write at the head of a fresh journal after a save.
    pub fn base_step(&self) -> HistoryStep {
        HistoryStep::Base { done: self.done.clone(), undone: self.undone.clone() }
    }

    /// The document was saved: nothing is dirty, the journal restarts empty.
    pub fn mark_saved(&mut self) {
        self.dirty = 0;
        self.unjournaled.clear();
    }

    /// Replace the document (import, open): history and indexes start over.
    pub fn reset(&mut self, doc: Document) {
        *self = Self::new(doc);
    }

    /// Change the project zone (a setting, not an undoable edit).
    pub fn set_zone(&mut self, zone: Option<cadastre_core::crs::GkZone>) {
        self.doc.zone = zone;
    }
}
