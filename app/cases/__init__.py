"""Cases: process instances and the step that advances them (one unit of work each), their tasks,
external tasks, messages and signals, timers, variables and history queries."""
