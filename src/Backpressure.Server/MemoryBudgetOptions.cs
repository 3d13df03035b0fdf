namespace Backpressure.Server;

/// <summary>
/// The server-wide budget for bytes held per client (every WebSocket connection's queues, every gRPC message being
/// written), bound from <c>Backpressure:MemoryBudget</c> and validated at start-up. Each connection's own limits bound
/// one client; this bounds their sum, whatever the number of clients.
/// </summary>
public sealed class MemoryBudgetOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Backpressure:MemoryBudget";

    /// <summary>The name the budget is reported under (<c>backpressure.budget</c>) and alerted on (<c>memory_budget.utilisation:per-client</c>).</summary>
    public const string BudgetName = "per-client";

    /// <summary>
    /// The most bytes all per-client queues and messages in flight may hold together; 0 (the default) for a quarter of
    /// the memory available to the GC: the container's or the heap hard limit when one is set, else the machine's memory.
    /// A quarter leaves the rest for the work the server does, which also needs memory under the same limit.
    /// </summary>
    public long QueueBytes { get; set; }

    /// <summary>The budget in force: <see cref="QueueBytes"/>, or the quarter of <paramref name="availableBytes"/> it defaults to.</summary>
    public long EffectiveQueueBytes(long availableBytes) => QueueBytes > 0 ? QueueBytes : Math.Max(1, availableBytes / 4);

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is wrong.</summary>
    public void Validate()
    {
        if (QueueBytes < 0)
        {
            throw new ArgumentException($"{nameof(QueueBytes)} must be 0 (a quarter of the memory available to the GC) or positive (was {QueueBytes}).", nameof(QueueBytes));
        }
    }
}
