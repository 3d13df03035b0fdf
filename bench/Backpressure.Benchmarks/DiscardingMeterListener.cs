using System.Diagnostics.Metrics;
using Backpressure.AspNetCore;

namespace Backpressure.Benchmarks;

/// <summary>
/// Listens to every instrument of the <c>Backpressure</c> meter and throws each measurement away:
/// what producing the measurements costs, without any exporter's aggregation on top.
/// </summary>
internal static class DiscardingMeterListener
{
    public static MeterListener Start()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == BackpressureMeter.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
        listener.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
        listener.Start();
        return listener;
    }
}
