using Backpressure.Queues;

namespace Backpressure.Server;

/// <summary>The server-wide budget for bytes held per client, in <c>/stats</c>: its limit, what is held now and at most, by how many queues, and how often it was full.</summary>
public sealed record MemoryBudgetSnapshot(long LimitBytes, long UsedBytes, long PeakUsedBytes, int Queues, long PressureEvents)
{
    internal static MemoryBudgetSnapshot From(QueueMemoryBudget budget) =>
        new(budget.Limit, budget.Used, budget.PeakUsed, budget.Queues, budget.PressureEvents);
}
