"""Dropping the finished parts of a workflow's task tree, so that a step costs the same however
long an instance has run.

SpiffWorkflow keeps every task an instance ever ran: each step adds tasks below the previous ones,
and a looping case's tree (and its saved state) grows without end. What the run still needs of it:
- the unfinished tasks;
- the parent of each (a task that becomes ready copies its parent's data), and of the other tasks
  that led to it the nearest of each element (a join looks among a token's ancestors for the
  elements it waits on, a boundary event's join for its split);
- the children of each (a multi-instance activity counts and merges its finished instances);
- the finished tasks of a join that are not on the way to an unfinished task, with their parents (a
  parallel or inclusive join, and a process's end, count the branches that reached them by those);
- the completed activities that a compensation throw event may still compensate;
- the subprocess workflows whose task is kept and not finished.
Everything else is history, which the service has already written to its own tables. A kept task
whose parent is dropped hangs from its nearest kept ancestor, so that the tree stays one tree.
"""
from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from app.engine.compensation import is_compensable


def prune(workflow: BpmnWorkflow) -> None:
    """Drop, in place, what `workflow` no longer needs (see the module's docstring)."""
    if workflow.completed:
        return  # a finished instance is not stepped again; its state is kept as it ended
    for subprocess in workflow.subprocesses.values():
        _prune_tree(subprocess)
    _prune_tree(workflow)
    kept: set[UUID] = set(workflow.tasks)
    for subprocess in workflow.subprocesses.values():
        kept.update(subprocess.tasks)
    # Decided before any is dropped: a nested subprocess's task is looked up in the one around it.
    dropped = [task_id for task_id, subprocess in workflow.subprocesses.items()
               if (parent := workflow.get_task_from_id(task_id) if task_id in kept else None) is None
               or (subprocess.completed and parent.has_state(TaskState.FINISHED_MASK))]
    for task_id in dropped:
        del workflow.subprocesses[task_id]


def _prune_tree(workflow: Workflow) -> None:
    tasks: dict[UUID, Task] = workflow.tasks
    root = workflow.task_tree
    live = [task for task in tasks.values() if not task.has_state(TaskState.FINISHED_MASK)]
    keep = {root.id}
    on_the_way: set[UUID] = set()
    for task in live:
        keep.add(task.id)
        keep.update(task._children)
        # Of the tasks that led here, the nearest of each element: what a join or a boundary event
        # looks for among a token's ancestors, found as before and in the same order.
        passed = set()
        ancestor = task.parent
        while ancestor is not None:
            on_the_way.add(ancestor.id)
            if ancestor.task_spec not in passed:
                passed.add(ancestor.task_spec)
                keep.add(ancestor.id)
            ancestor = ancestor.parent
    for task in tasks.values():
        if is_compensable(task):
            keep.add(task.id)
            keep.update(task._children)  # a multi-instance activity is undone instance by instance
        if (isinstance(task.task_spec, UnstructuredJoin) and task.id not in on_the_way
                and task.has_state(TaskState.FINISHED_MASK)):
            keep.add(task.id)
            if task._parent is not None:
                keep.add(task._parent)
    if len(keep) == len(tasks):
        return
    # Each kept task hangs from its nearest kept ancestor; siblings keep their order.
    children: dict[UUID, list[UUID]] = {task_id: [] for task_id in keep}
    pending = [(root, root.id)]
    while pending:
        task, holder = pending.pop()
        if task.id in keep and task is not root:
            task._parent = holder
            children[holder].append(task.id)
            holder = task.id
        pending.extend((tasks[child], holder) for child in reversed(task._children) if child in tasks)
    for task_id in [task_id for task_id in tasks if task_id not in keep]:
        del tasks[task_id]
    for task_id, kept_children in children.items():
        tasks[task_id]._children = kept_children
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = None
