namespace Backpressure.Simulation;

/// <summary>
/// Runs the continuations of waits that the simulation starts (a request waiting in a waiting room) on the
/// simulation's own thread, in the order they were queued, when the simulation drains it after each event:
/// the thread pool would run them at times the simulation does not control.
/// </summary>
internal sealed class SimulationScheduler : TaskScheduler
{
    private readonly Queue<Task> _queued = new();

    /// <summary>Runs every continuation queued, including those queued while running.</summary>
    public void Drain()
    {
        while (_queued.TryDequeue(out Task? task))
        {
            TryExecuteTask(task);
        }
    }

    protected override IEnumerable<Task> GetScheduledTasks() => _queued;

    protected override void QueueTask(Task task) => _queued.Enqueue(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;
}
