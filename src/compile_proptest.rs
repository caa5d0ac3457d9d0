//! Property tests of the compiler: no input panics it, and every error points inside the source.
