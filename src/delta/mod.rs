//! Delta log replay as a resumable, sans-IO state machine.
