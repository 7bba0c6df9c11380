import { type InputHTMLAttributes, type ReactNode, useId } from "react";

/**
 * Labelled form controls with their hint and error tied to the input (aria-describedby,
 * aria-invalid), so screen readers announce both; errors also show in text, never colour alone.
 */
export interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  name: string;
  hint?: ReactNode;
  error?: string | null | undefined;
}

export function Field({ label, name, hint, error, id, ...input }: FieldProps) {
  const auto = useId();
  const inputId = id ?? `${name}-${auto}`;
  const hintId = hint ? `${inputId}-hint` : undefined;
  const errorId = error ? `${inputId}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " has-error" : ""}`}>
      <label htmlFor={inputId}>{label}</label>
      <input
        id={inputId}
        name={name}
        aria-describedby={describedBy}
        aria-invalid={error ? true : undefined}
        {...input}
      />
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export interface SelectFieldProps {
  label: string;
  name: string;
  options: ReadonlyArray<readonly [value: string, label: string]>;
  defaultValue?: string | undefined;
  hint?: ReactNode;
  error?: string | null | undefined;
  required?: boolean;
}

export function SelectField({ label, name, options, defaultValue, hint, error, required }: SelectFieldProps) {
  const auto = useId();
  const id = `${name}-${auto}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  return (
    <div className={`field${error ? " has-error" : ""}`}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        name={name}
        defaultValue={defaultValue}
        required={required}
        aria-describedby={[hintId, errorId].filter(Boolean).join(" ") || undefined}
        aria-invalid={error ? true : undefined}
      >
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A form-level message: errors are announced at once (role=alert), notices politely. */
export function FormMessage({
  error,
  notice,
}: {
  error?: string | null | undefined;
  notice?: string | null | undefined;
}) {
  if (error)
    return (
      <p className="form-message error" role="alert">
        {error}
      </p>
    );
  if (notice)
    return (
      <p className="form-message notice" role="status">
        {notice}
      </p>
    );
  return null;
}
