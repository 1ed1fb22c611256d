package jobs

// LogForTest adds a line to j's log, as a job's work does.
func LogForTest(j *Job, line string) { j.logf("%s", line) }

// MovedForTest records a redrive's progress: moved of toMove.
func MovedForTest(j *Job, moved, toMove int) { j.update(func(t *tracker) { t.redrive(moved, toMove) }) }
