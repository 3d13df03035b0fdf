using System.Collections;
using System.ComponentModel;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Backpressure;

/// <summary>
/// Shared source (as <c>OptionsValidator</c>). Finds the keys of a configuration section that no
/// property of the options it is bound to would read: a misspelt <c>PermitLimt</c> is otherwise
/// silently ignored and the default used. The configuration binder's own
/// <c>ErrorOnUnknownConfiguration</c> cannot serve here, because one section often binds to two
/// options classes (a rate-limit policy's algorithm and its partitioning), each of which would
/// call the other's keys unknown; and it throws at first use, not as a start-up validation.
/// </summary>
internal static class UnknownSettings
{
    /// <summary>The full paths of the keys under <paramref name="section"/> that no public property of <paramref name="types"/> binds.</summary>
    /// <param name="section">The bound section.</param>
    /// <param name="types">The options classes it is bound to.</param>
    /// <param name="alsoKnown">Child names that are read some other way (sub-sections bound elsewhere).</param>
    public static List<string> Find(IConfiguration section, IReadOnlyCollection<Type> types, IReadOnlyCollection<string>? alsoKnown = null)
    {
        var unknown = new List<string>();
        foreach (IConfigurationSection child in section.GetChildren())
        {
            if (alsoKnown is not null && alsoKnown.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            PropertyInfo? property = types.Select(t => PropertyOf(t, child.Key)).FirstOrDefault(p => p is not null);
            if (property is null)
            {
                unknown.Add(child.Path);
            }
            else
            {
                CheckValue(child, property.PropertyType, unknown);
            }
        }

        return unknown;
    }

    /// <summary>A validator that fails start-up naming every unknown key under <paramref name="section"/>.</summary>
    /// <param name="kind">What the options configure, for the message.</param>
    /// <param name="onlyName">The named options instance the check runs for; null for the unnamed.</param>
    /// <param name="section">The bound section.</param>
    /// <param name="types">The options classes it is bound to.</param>
    /// <param name="alsoKnown">Child names that are read some other way.</param>
    public static IValidateOptions<TOptions> Validator<TOptions>(
        string kind, string? onlyName, IConfiguration section, IReadOnlyCollection<Type> types, IReadOnlyCollection<string>? alsoKnown = null)
        where TOptions : class
        => new Check<TOptions>(kind, onlyName, section, types, alsoKnown);

    /// <summary>The message naming <paramref name="unknown"/> keys and the settings <paramref name="types"/> do have.</summary>
    public static string Describe(IReadOnlyList<string> unknown, IReadOnlyCollection<Type> types, IReadOnlyCollection<string>? alsoKnown)
    {
        IEnumerable<string> settings = types
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            .Where(Bindable)
            .Select(p => p.Name)
            .Concat(alsoKnown ?? [])
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.Ordinal);
        string keys = string.Join(", ", unknown.Select(k => $"'{k}'"));
        return $"unknown setting{(unknown.Count == 1 ? "" : "s")} {keys} (misspelt? it would be ignored); the settings here are {string.Join(", ", settings)}.";
    }

    private static PropertyInfo? PropertyOf(Type type, string key)
    {
        PropertyInfo? property = type.GetProperty(key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property is not null && Bindable(property) ? property : null;
    }

    // The binder sets writable properties and fills read-only ones that hold an object or a collection.
    private static bool Bindable(PropertyInfo property) =>
        property.GetIndexParameters().Length == 0
        && (property.SetMethod is { IsPublic: true } || !IsScalar(property.PropertyType));

    private static void CheckValue(IConfigurationSection section, Type type, List<string> unknown)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        IEnumerable<IConfigurationSection> children = section.GetChildren();
        if (IsScalar(type))
        {
            // A scalar with children (PermitLimit:Value) binds nothing from them.
            unknown.AddRange(children.Select(c => c.Path));
            return;
        }

        if (section.Value is not null)
        {
            // A plain value where an object or a list belongs: the binder can make nothing of it.
            unknown.Add(section.Path);
            return;
        }

        if (ElementType(type) is { } element)
        {
            foreach (IConfigurationSection item in children)
            {
                CheckValue(item, element, unknown);
            }

            return;
        }

        if (type.IsAbstract || type.IsInterface || typeof(Delegate).IsAssignableFrom(type))
        {
            // Set in code only (a partitioner, a callback); the binder leaves it alone, so any keys under it are unread.
            unknown.AddRange(children.Select(c => c.Path));
            return;
        }

        unknown.AddRange(Find(section, [type]));
    }

    private static bool IsScalar(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTimeOffset) || type == typeof(Uri) || type == typeof(Guid) || type == typeof(object)
            || (type != typeof(string) && !typeof(IEnumerable).IsAssignableFrom(type) && TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string)));
    }

    // The value type of an array, a list or a string-keyed dictionary; null for anything else.
    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }

        foreach (Type face in type.GetInterfaces().Prepend(type).Where(t => t.IsGenericType))
        {
            Type definition = face.GetGenericTypeDefinition();
            if (definition == typeof(IDictionary<,>) || definition == typeof(IReadOnlyDictionary<,>))
            {
                return face.GetGenericArguments()[1];
            }
        }

        foreach (Type face in type.GetInterfaces().Prepend(type).Where(t => t.IsGenericType))
        {
            if (face.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            {
                return face.GetGenericArguments()[0];
            }
        }

        return null;
    }

    private sealed class Check<TOptions>(
        string kind, string? onlyName, IConfiguration section, IReadOnlyCollection<Type> types, IReadOnlyCollection<string>? alsoKnown)
        : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            if ((name ?? Options.DefaultName) != (onlyName ?? Options.DefaultName))
            {
                return ValidateOptionsResult.Skip;
            }

            List<string> unknown = Find(section, types, alsoKnown);
            if (unknown.Count == 0)
            {
                return ValidateOptionsResult.Success;
            }

            string message = Describe(unknown, types, alsoKnown);
            return ValidateOptionsResult.Fail(string.IsNullOrEmpty(onlyName) ? $"{kind}: {message}" : $"{kind} '{onlyName}': {message}");
        }
    }
}
